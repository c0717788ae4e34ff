"""The post-show review: known figures from a show built by hand, suggestions traced to them, the routes
(start, end, stats, review JSON and page, 404s, an empty show), and the HTML/CSV renderings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from live_fakes import seed_room
from sqlalchemy import update

from api import i18n
from assistant.review import build_review
from assistant.review_report import render_csv, render_html
from knowledge.errors import NotFoundError
from knowledge.events import EventStore
from knowledge.shows import ShowStore
from knowledge.store import CommentIn, Store, comments

T0 = 1_700_000_000.0


def make_show(store: Store) -> tuple[ShowStore, EventStore, str]:
    """Room r1 (p1 on stage), a show of 4 minutes: p1 on stage for 2 min with 4 purchase comments,
    p2 for 2 min with 1; 3 price questions about p3 (never on stage), 2 complaints about p2,
    one handed-off question, one compliance finding, two viewer counts, widget impressions."""
    seed_room(store)
    shows, events = ShowStore(store), EventStore(store)
    show = shows.start("r1", now=T0)
    rows = [(10, "purchase", "p1"), (20, "purchase", "p1"), (30, "purchase", "p1"), (90, "purchase", "p1"),
            (130, "purchase", "p2"), (140, "complaint", "p2"), (150, "complaint", "p2"),
            (60, "price", "p3"), (70, "price", "p3"), (200, "price", "p3"), (210, "chitchat", None)]
    stored = store.add_comments("r1", [CommentIn(comment_id=f"c{i}", user_id=f"u{i % 5}", text=f"评论{i}", ts=T0 + dt)
                                       for i, (dt, _, _) in enumerate(rows)])
    with store.engine.begin() as conn:
        for c, (dt, _, _) in zip(stored, rows, strict=True):
            conn.execute(update(comments).where(comments.c.seq == c.seq).values(received_at=T0 + dt))
    store.set_comment_analysis([(c.seq, {"top_intent": it, "product_id": pid,
                                         "group_id": "g-price" if it == "price" else None})
                                for c, (_, it, pid) in zip(stored, rows, strict=True)])
    shows.add_events(show["id"], [
        {"kind": "stage", "ts": T0 + 120, "product_id": "p2"},
        {"kind": "card", "ref": "group:g-price", "ts": T0 + 70, "product_id": "p3",
         "data": {"kind": "question_group", "title": "多少钱", "count": 3, "talking_point": "三号链接 99 元"}},
        {"kind": "answer", "ref": "group:g-price", "ts": T0 + 71, "product_id": "p3",
         "data": {"question": "多少钱", "text": "三号链接 99 元", "group_id": "g-price"}},
        {"kind": "handoff", "ts": T0 + 145, "product_id": "p2", "data": {"question": "能开发票吗", "text": ""}},
        {"kind": "compliance", "ref": "compliance:x", "ts": T0 + 100, "data": {
            "text": "全网最低价", "findings": [{"term": "最低价", "suggestion": "很划算"}]}},
        {"kind": "room_stats", "ts": T0 + 30, "data": {"viewers": 100}},
        {"kind": "room_stats", "ts": T0 + 150, "data": {"viewers": 200}},
    ])
    events.add([{"kind": "impression", "item_id": "p1", "ts": T0 + 50, "room_id": "r1"}] * 3
               + [{"kind": "click", "item_id": "p1", "ts": T0 + 55, "room_id": "r1"}])
    shows.end("r1", show["id"], now=T0 + 240)
    return shows, events, show["id"]


def test_review_figures_are_the_known_ones(store: Store) -> None:
    """Time on stage, purchase intent per minute on stage, questions, complaints, gaps and widget counts
    come out exactly as built."""
    shows, events, show_id = make_show(store)
    r = build_review(store, shows, events, "r1", show_id)
    assert r["show"]["comments"] == 11 and r["show"]["ended"] and r["show"]["duration_s"] == 240
    p = {x["product_id"]: x for x in r["products"]}
    assert p["p1"]["on_stage_s"] == 120 and p["p2"]["on_stage_s"] == 120 and p["p3"]["on_stage_s"] == 0
    assert p["p1"]["purchase_per_min_on_stage"] == 2.0 and p["p2"]["purchase_per_min_on_stage"] == 0.5
    assert p["p3"]["questions"] == 3 and p["p2"]["complaints"] == 2
    assert (p["p3"]["answered"], p["p2"]["handed_off"]) == (1, 1)
    assert (p["p1"]["impressions"], p["p1"]["clicks"]) == (3, 1)
    tl = r["timeline"]
    assert tl["minutes"] == 5 and tl["intents"]["purchase"][:3] == [3, 1, 1]
    assert [(b["product_id"], b["start_s"], b["end_s"]) for b in tl["bands"]] == [("p1", 0, 120), ("p2", 120, 240)]
    assert tl["cards"][0]["kind"] == "question_group" and tl["cards"][0]["t_s"] == 70
    g = r["question_groups"][0]
    assert (g["group_id"], g["count"], g["question"], g["answer"]) == ("g-price", 3, "多少钱", "三号链接 99 元")
    assert r["gaps"] == [{"question": "能开发票吗", "count": 1, "product_id": "p2", "link": 2, "reason": "",
                          "examples": ["能开发票吗"]}]
    assert r["compliance"][0]["findings"][0]["term"] == "最低价"
    assert r["audience"]["peak_viewers"] == 200 and r["audience"]["points"][0]["interaction_rate"] == 0.03


def test_suggestions_are_traceable_to_figures(store: Store) -> None:
    """Three to five suggestions; the pitch-earlier one names the figures it compares."""
    shows, events, show_id = make_show(store)
    r = build_review(store, shows, events, "r1", show_id)
    assert 3 <= len(r["suggestions"]) <= 5
    keys = [s["key"] for s in r["suggestions"]]
    assert "review.suggest.never_on_stage" in keys and "review.suggest.write_answers" in keys
    never = next(s for s in r["suggestions"] if s["key"] == "review.suggest.never_on_stage")
    assert never["values"] == {"product": "#3", "asked": 3} and never["figures"] == {"products": ["p3"]}
    zh = i18n.labels("zh-CN")
    assert "#3 没有上台讲解，却被问到 3 次" in render_html(r, zh)


def test_empty_and_unknown_shows(store: Store) -> None:
    """A show with no comments (never ended) gives a valid empty review; an unknown room or show is NotFound."""
    seed_room(store)
    shows = ShowStore(store)
    show = shows.start("r1")
    r = build_review(store, shows, None, "r1", show["id"])
    assert r["show"]["comments"] == 0 and not r["show"]["ended"] and r["suggestions"] == []
    assert r["question_groups"] == [] and r["gaps"] == []
    assert "<svg" in render_html(r, i18n.labels("en"), "en") and render_csv(r).startswith("section,")
    with pytest.raises(NotFoundError, match="no show"):
        build_review(store, shows, None, "r1", "nope")
    with pytest.raises(NotFoundError):
        build_review(store, shows, None, "nowhere", None)


def test_csv_and_html_carry_every_section(store: Store) -> None:
    """The HTML has each section with an inline chart and no external resource; the CSV has the product rows."""
    shows, events, show_id = make_show(store)
    r = build_review(store, shows, events, "r1", show_id)
    page = render_html(r, i18n.labels("zh-CN"))
    for section in ("suggestions", "timeline", "products", "question-groups", "gaps", "compliance", "audience"):
        assert f'id="{section}"' in page
    assert "src=" not in page and "href=" not in page and "知识库缺口" in page
    assert "products,p1,on_stage_s,120.0" in render_csv(r)


def test_routes_start_end_stats_review_and_page(tmp_path: Path) -> None:
    """Over HTTP: start a show, send stats, end it, read the review (JSON, zh and en text) and the page;
    unknown room or show is 404; a widget-free host key is required."""
    from test_routes_rooms import h, live_settings

    from api.app import create_app
    from knowledge.embedder import HashingEmbedder

    app = create_app(live_settings(tmp_path), embedder=HashingEmbedder(64))
    with TestClient(app) as c:
        seed_room(app.state.services.store)
        assert c.post("/rooms/r1/shows").status_code == 401
        show = c.post("/rooms/r1/shows", json={"title": "周五专场"}, headers=h("host")).json()
        assert show["title"] == "周五专场" and show["ended_at"] is None
        assert c.post("/rooms/r1/stats", json={"viewers": 120}, headers=h("ingest")).json()["recorded"] is True
        ended = c.post(f"/rooms/r1/shows/{show['id']}/end", headers=h("host")).json()
        assert ended["ended_at"] is not None
        r = c.get(f"/rooms/r1/shows/{show['id']}/review", headers=h("host"))
        assert r.status_code == 200 and r.json()["show"]["comments"] == 0 and r.json()["lang"] == "zh-CN"
        assert r.json()["audience"]["peak_viewers"] == 120
        assert c.get(f"/rooms/r1/shows/{show['id']}/review?lang=en", headers=h("host")).json()["lang"] == "en"
        assert c.get("/rooms/r1/shows/nope/review", headers=h("host")).status_code == 404
        assert c.get("/rooms/zz/shows/latest/review", headers=h("host")).status_code == 404
        assert c.post("/rooms/zz/shows", headers=h("host")).status_code == 404
        page = c.get(f"/review/r1/{show['id']}?key={h('host')['X-API-Key']}")
        assert page.status_code == 200 and "直播复盘" in page.text
        listed: list[dict[str, Any]] = c.get("/rooms/r1/shows", headers=h("host")).json()
        assert [s["id"] for s in listed] == [show["id"]]
