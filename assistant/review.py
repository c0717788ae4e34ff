"""The post-show review (复盘): figures from a show's comments and events, and suggestions traced to them.

Every figure is one SQL aggregation over the show's comments (by minute and intent, by product, by
question group, by on-stage band) or a read of its few hundred events, so a 200,000-comment show is
never walked row by row in Python. Suggestions carry a label key, the values to fill in, and the
figures they come from (`figures`), so a reader can check each one; the text is rendered by the
caller in the page's language.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, case, cast, func, select

from assistant.cards import ANSWERABLE_INTENTS
from knowledge.events import EventStore
from knowledge.shows import ShowStore
from knowledge.store import Store, comments

MINUTE = 60.0
TOP_GROUPS = 10


def build_review(store: Store, shows: ShowStore, events: EventStore | None, room_id: str,
                 show_id: str | None = None, now: float | None = None) -> dict[str, Any]:
    """The review of a show (the room's latest when `show_id` is None); NotFoundError if unknown.

    A show still open is reviewed up to now (`show.ended` is False); a show with no comments gives
    every section empty.
    """
    show = shows.latest(room_id) if show_id is None else shows.get(room_id, show_id)
    now = time.time() if now is None else now
    start = float(show["started_at"])
    end = float(show["ended_at"]) if show["ended_at"] is not None else now
    span = shows.comment_span(show)
    intent = comments.c.analysis["top_intent"].as_string()
    product = comments.c.analysis["product_id"].as_string()
    group = comments.c.analysis["group_id"].as_string()
    catalogue = {p["id"]: p for p in store.list_products(list(show["lineup"]))} if show["lineup"] else {}
    lineup = list(show["lineup"])
    link = {pid: i + 1 for i, pid in enumerate(lineup)}
    evs = shows.events(show["id"])
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in evs:
        by_kind[e["kind"]].append(e)

    with store.engine.connect() as conn:
        total, first_ts, last_ts, viewers_n = conn.execute(
            select(func.count(), func.min(comments.c.received_at), func.max(comments.c.received_at),
                   func.count(func.distinct(comments.c.user_id))).where(span)).one()
        total = int(total or 0)
        # the clock of a show is the server's (received_at), the same clock its events use
        t0 = min(start, float(first_ts)) if first_ts is not None else start
        t1 = max(end, float(last_ts)) if last_ts is not None and show["ended_at"] is None else end
        minute = cast((comments.c.received_at - t0) / MINUTE, Integer)
        per_minute = conn.execute(select(minute, intent, func.count()).where(span).group_by(minute, intent)).all()
        per_product = conn.execute(select(product, intent, func.count()).where(span).group_by(product, intent)).all()
        groups = conn.execute(
            select(group, func.count(), func.min(comments.c.text), func.max(intent), func.max(product))
            .where(span).where(group.is_not(None)).group_by(group)
            .order_by(func.count().desc()).limit(TOP_GROUPS)).all()
        bands = _bands(show, by_kind["stage"], t0, t1)
        band_counts: dict[int, tuple[int, int]] = {}
        if bands and total:
            which = case(*[(comments.c.received_at < b["end"], i) for i, b in enumerate(bands)], else_=len(bands))
            rows = conn.execute(select(which, func.count(), func.sum(case((intent == "purchase", 1), else_=0)))
                                .where(span).where(comments.c.received_at >= bands[0]["start"]).group_by(which)).all()
            band_counts = {int(i): (int(n), int(p or 0)) for i, n, p in rows}

    n_minutes = max(1, int((t1 - t0) // MINUTE) + 1) if total or show["ended_at"] else 0
    timeline_intents: dict[str, list[int]] = {}
    for m, it, n in per_minute:
        series = timeline_intents.setdefault(it or "unknown", [0] * n_minutes)
        if 0 <= int(m) < n_minutes:
            series[int(m)] += int(n)
    products = _products(lineup, catalogue, link, bands, band_counts, per_product, by_kind, events, show, t0, t1)
    cards = [{"t_s": round(e["ts"] - t0, 1), "kind": e["data"].get("kind"), "title": e["data"].get("title"),
              "count": e["data"].get("count"), "product_id": e["product_id"]} for e in by_kind["card"]]
    talking = {e["ref"].removeprefix("group:"): e["data"] for e in by_kind["card"]
               if (e["ref"] or "").startswith("group:")}
    answered = {e["ref"].removeprefix("group:"): e for e in by_kind["answer"] + by_kind["handoff"]
                if (e["ref"] or "").startswith("group:")}
    top_groups = []
    for gid, n, text, it, pid in groups:
        card = talking.get(gid, {})
        ans = answered.get(gid)
        top_groups.append({"group_id": gid, "count": int(n), "question": card.get("title") or text, "intent": it,
                           "product_id": pid, "link": link.get(pid), "samples": card.get("samples", []),
                           "answer": (ans["data"].get("text") if ans else "") or card.get("talking_point", ""),
                           "handed_off": bool(ans and ans["kind"] == "handoff")})
    review = {
        "version": 1,
        "show": {"id": show["id"], "room_id": room_id, "title": show["title"], "started_at": start,
                 "ended_at": show["ended_at"], "ended": show["ended_at"] is not None, "duration_s": round(t1 - t0, 1),
                 "comments": total, "commenters": int(viewers_n or 0), "lineup": lineup, "auto": bool(show["auto"])},
        "timeline": {"minute_s": MINUTE, "minutes": n_minutes, "intents": timeline_intents,
                     "bands": [{k: b[k] for k in ("product_id", "link", "title", "start_s", "end_s")} for b in bands],
                     "cards": cards},
        "products": products,
        "question_groups": top_groups,
        "gaps": _gaps(by_kind["handoff"], link),
        "compliance": [{"t_s": round(e["ts"] - t0, 1), "text": e["data"].get("text", ""),
                        "findings": e["data"].get("findings", []), "product_id": e["product_id"]}
                       for e in by_kind["compliance"]],
        "audience": _audience(by_kind["room_stats"], timeline_intents, t0),
        "tickets": [{"t_s": round(e["ts"] - t0, 1), **e["data"]} for e in by_kind["ticket"]],
    }
    review["suggestions"] = suggestions(review)
    return review


def _bands(show: dict[str, Any], stage: list[dict[str, Any]], t0: float, t1: float) -> list[dict[str, Any]]:
    """On-stage intervals from the stage changes (the last one runs to the end)."""
    changes = [(float(e["ts"]), e["product_id"]) for e in stage]
    if not changes and show.get("on_stage"):
        changes = [(t0, show["on_stage"])]
    lineup = list(show["lineup"])
    out = []
    for i, (ts, pid) in enumerate(changes):
        stop = changes[i + 1][0] if i + 1 < len(changes) else t1
        if pid is None or stop <= ts:
            continue
        out.append({"product_id": pid, "link": lineup.index(pid) + 1 if pid in lineup else None, "title": "",
                    "start": max(ts, t0), "end": stop, "start_s": round(max(ts, t0) - t0, 1),
                    "end_s": round(stop - t0, 1)})
    return out


def _products(lineup: list[str], catalogue: dict[str, Any], link: dict[str, int], bands: list[dict[str, Any]],
              band_counts: dict[int, tuple[int, int]], per_product: Sequence[Any], by_kind: dict[str, list[dict[str, Any]]],
              events: EventStore | None, show: dict[str, Any], t0: float, t1: float) -> list[dict[str, Any]]:
    intents: dict[str | None, Counter[str]] = defaultdict(Counter)
    for pid, it, n in per_product:
        intents[pid][it or "unknown"] += int(n)
    on_stage: dict[str, float] = defaultdict(float)
    stage_purchase: dict[str, int] = defaultdict(int)
    stage_comments: dict[str, int] = defaultdict(int)
    for i, b in enumerate(bands):
        b["title"] = catalogue.get(b["product_id"], {}).get("title", "")
        on_stage[b["product_id"]] += b["end"] - b["start"]
        n, purchase = band_counts.get(i, (0, 0))
        stage_comments[b["product_id"]] += n
        stage_purchase[b["product_id"]] += purchase
    answers: dict[str | None, Counter[str]] = defaultdict(Counter)
    for e in by_kind["answer"] + by_kind["handoff"]:
        answers[e["product_id"]][e["kind"]] += 1
    widget = events.counts_by_item(t0, t1, show["room_id"]) if events is not None else {}
    out = []
    for pid in dict.fromkeys([*lineup, *on_stage]):
        c = intents.get(pid, Counter())
        minutes = on_stage.get(pid, 0.0) / MINUTE
        w = widget.get(pid, {})
        out.append({
            "product_id": pid, "link": link.get(pid), "title": catalogue.get(pid, {}).get("title", pid),
            "on_stage_s": round(on_stage.get(pid, 0.0), 1),
            "questions": sum(n for it, n in c.items() if it in ANSWERABLE_INTENTS),
            "purchase_intent": c.get("purchase", 0),
            "purchase_per_min_on_stage": round(stage_purchase[pid] / minutes, 2) if minutes > 0 else None,
            "comments_on_stage": stage_comments.get(pid, 0),
            "complaints": c.get("complaint", 0),
            "answered": answers[pid]["answer"], "handed_off": answers[pid]["handoff"],
            "impressions": w.get("impression", 0), "clicks": w.get("click", 0),
            "add_to_cart": w.get("add_to_cart", 0), "purchases": w.get("purchase", 0),
        })
    return out


def _gaps(handoffs: list[dict[str, Any]], link: dict[str, int]) -> list[dict[str, Any]]:
    """Handed-off questions grouped (by question group, else by the question's text)."""
    grouped: dict[str, dict[str, Any]] = {}
    for e in handoffs:
        d = e["data"]
        key = d.get("group_id") or d.get("question", "")
        g = grouped.setdefault(key, {"question": d.get("question", ""), "count": 0, "product_id": e["product_id"],
                                     "link": link.get(e["product_id"]), "reason": d.get("reason", ""), "examples": []})
        g["count"] += 1
        q = d.get("question", "")
        if q and q not in g["examples"] and len(g["examples"]) < 5:
            g["examples"].append(q)
    return sorted(grouped.values(), key=lambda g: -g["count"])


def _audience(stats: list[dict[str, Any]], intents: dict[str, list[int]], t0: float) -> dict[str, Any]:
    """The viewer curve from room statistics, and comments per viewer per minute (the interaction rate)."""
    if not stats:
        return {"points": [], "interaction_rate": None, "peak_viewers": None}
    per_minute = [sum(col) for col in zip(*intents.values(), strict=True)] if intents else []
    points = []
    for e in stats:
        m = int((e["ts"] - t0) // MINUTE)
        viewers = e["data"].get("viewers")
        said = per_minute[m] if 0 <= m < len(per_minute) else 0
        points.append({"t_s": round(e["ts"] - t0, 1), "viewers": viewers, "likes": e["data"].get("likes"),
                       "interaction_rate": round(said / viewers, 4) if viewers else None})
    rates = [p["interaction_rate"] for p in points if p["interaction_rate"] is not None]
    peak = max((p["viewers"] or 0 for p in points), default=0)
    return {"points": points, "interaction_rate": round(sum(rates) / len(rates), 4) if rates else None,
            "peak_viewers": peak}


def suggestions(review: dict[str, Any], most: int = 5) -> list[dict[str, Any]]:
    """Three to five plain suggestions (fewer when the show gives too little), each with its figures."""
    out: list[dict[str, Any]] = []
    staged = [p for p in review["products"] if p["on_stage_s"] >= MINUTE and p["purchase_per_min_on_stage"] is not None]
    if len(staged) >= 2:
        best = max(staged, key=lambda p: p["purchase_per_min_on_stage"])
        longest = max(staged, key=lambda p: p["on_stage_s"])
        if best is not longest and best["purchase_per_min_on_stage"] > longest["purchase_per_min_on_stage"]:
            out.append({"key": "review.suggest.pitch_earlier", "section": "products",
                        "values": {"slow": _name(longest), "slow_min": round(longest["on_stage_s"] / MINUTE, 1),
                                   "slow_rate": longest["purchase_per_min_on_stage"], "best": _name(best),
                                   "best_rate": best["purchase_per_min_on_stage"]},
                        "figures": {"products": [longest["product_id"], best["product_id"]]}})
    unstaged = [p for p in review["products"] if p["on_stage_s"] == 0 and p["questions"] + p["purchase_intent"] > 0]
    if unstaged:
        top = max(unstaged, key=lambda p: p["questions"] + p["purchase_intent"])
        out.append({"key": "review.suggest.never_on_stage", "section": "products",
                    "values": {"product": _name(top), "asked": top["questions"] + top["purchase_intent"]},
                    "figures": {"products": [top["product_id"]]}})
    if review["gaps"]:
        g = review["gaps"][0]
        out.append({"key": "review.suggest.write_answers", "section": "gaps",
                    "values": {"gaps": len(review["gaps"]), "handoffs": sum(x["count"] for x in review["gaps"]),
                               "question": g["question"], "count": g["count"]},
                    "figures": {"gaps": [g["question"]]}})
    complained = [p for p in review["products"] if p["complaints"] > 0]
    if complained:
        worst = max(complained, key=lambda p: p["complaints"])
        out.append({"key": "review.suggest.complaints", "section": "products",
                    "values": {"product": _name(worst), "complaints": worst["complaints"]},
                    "figures": {"products": [worst["product_id"]]}})
    if review["compliance"]:
        terms = list(dict.fromkeys(f.get("term", "") for c in review["compliance"] for f in c["findings"]))
        out.append({"key": "review.suggest.compliance", "section": "compliance",
                    "values": {"count": len(review["compliance"]), "terms": "、".join(t for t in terms[:5] if t)},
                    "figures": {"compliance": len(review["compliance"])}})
    shown = [p for p in review["products"] if p["impressions"] >= 20]
    if shown and len(out) < most:
        low = min(shown, key=lambda p: p["clicks"] / p["impressions"])
        out.append({"key": "review.suggest.low_ctr", "section": "products",
                    "values": {"product": _name(low), "impressions": low["impressions"], "clicks": low["clicks"]},
                    "figures": {"products": [low["product_id"]]}})
    top = review["question_groups"][:1]
    if top and len(out) < 3:
        g = top[0]
        out.append({"key": "review.suggest.script_top_question", "section": "question_groups",
                    "values": {"question": g["question"], "count": g["count"]},
                    "figures": {"question_groups": [g["group_id"]]}})
    return out[:most]


def _name(p: dict[str, Any]) -> str:
    return f"#{p['link']}" if p.get("link") else str(p.get("title") or p["product_id"])
