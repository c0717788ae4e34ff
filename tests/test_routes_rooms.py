"""Rooms over REST and the live WebSockets in-process (TestClient): keys, line-ups, ingestion with
sequence numbers, answers, and typed errors and close codes for bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from live_fakes import FakeAnswerer, FakePipeline, seed_room
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from api.settings import Settings

KEYS = {"ingest": "k-ingest", "host": "k-host", "bot": "k-bot", "admin": "k-admin"}


def live_settings(tmp_path: Path, **extra: Any) -> Settings:
    """Settings for a test app: a temporary store, no demo, fixed keys."""
    return Settings(data_dir=tmp_path, load_demo=False, embedding_model="hashing",
                    **{f"api_key_{r}": k for r, k in KEYS.items()}, **extra)


def h(role: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[role]}


@pytest.fixture(scope="module")
def shared_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app for the module (building the services trains models); each test resets the room."""
    from knowledge.embedder import HashingEmbedder

    app = create_app(live_settings(tmp_path_factory.mktemp("rooms"), max_message_bytes=4096),
                     embedder=HashingEmbedder(256))
    with TestClient(app) as c:
        seed_room(app.state.services.store)
        yield c


@pytest.fixture
def client(shared_client: TestClient) -> TestClient:
    """The shared app with room r1 fresh in the hub and deterministic fakes with known answers
    (the real parts are exercised by tests/test_live_e2e.py)."""
    services = shared_client.app.state.services  # type: ignore[attr-defined]
    live = services.live.rooms.pop("r1", None)
    for task in live.tasks if live else []:
        task.cancel()
    services.store.update_room("r1", on_stage="p1")
    services.live.pipeline = FakePipeline()
    services.live.answerer = FakeAnswerer()
    return shared_client


def test_keys_are_checked_per_role(client: TestClient) -> None:
    """No key is 401, a wrong role is 403, the right role and admin pass."""
    assert client.get("/rooms/r1").status_code == 401
    assert client.get("/rooms/r1", headers={"X-API-Key": "nope"}).status_code == 401
    assert client.post("/rooms", json={"id": "x"}, headers=h("bot")).status_code == 403
    assert client.get("/rooms/r1", headers=h("bot")).json()["lineup"] == ["p1", "p2", "p3"]
    assert client.get("/rooms/r1", headers={"Authorization": f"Bearer {KEYS['admin']}"}).status_code == 200


def test_create_room_and_switch_on_stage(client: TestClient) -> None:
    """A room is created with its line-up; on-stage must be a line-up product; unknown products are 404."""
    r = client.post("/rooms", json={"id": "show-2", "title": "晚场", "lineup": ["p2", "p3"], "on_stage": "p2"},
                    headers=h("host"))
    assert r.status_code == 201 and r.json()["on_stage"] == "p2"
    assert client.put("/rooms/show-2/on-stage", json={"product_id": "p3"}, headers=h("host")).json()["on_stage"] == "p3"
    bad = client.put("/rooms/show-2/on-stage", json={"product_id": "p1"}, headers=h("host"))
    assert bad.status_code == 422 and "line-up" in bad.json()["detail"]
    missing = client.post("/rooms", json={"id": "x", "lineup": ["p1", "zz"]}, headers=h("host"))
    assert missing.status_code == 404 and "zz" in missing.json()["detail"]
    assert client.post("/rooms", json={"id": "bad id!", "lineup": []}, headers=h("host")).status_code == 422
    assert client.put("/rooms/none/on-stage", json={"product_id": None}, headers=h("host")).status_code == 404


def test_post_comments_acknowledges_with_seqs_and_dedupes(client: TestClient) -> None:
    """A batch is stored and acknowledged with sequence numbers; a replay is counted as duplicate."""
    batch = {"comments": [{"comment_id": "a", "text": "多少钱", "user_id": "u1", "ts": 1.0},
                          {"comment_id": "b", "text": "链接", "user_id": "u2"}]}
    first = client.post("/rooms/r1/comments", json=batch, headers=h("ingest")).json()
    again = client.post("/rooms/r1/comments", json=batch, headers=h("ingest")).json()
    assert first["comment_ids"] == ["a", "b"] and first["duplicates"] == 0
    assert again["seqs"] == first["seqs"] and again["duplicates"] == 2
    rows = client.get(f"/rooms/r1/comments?since={first['seqs'][0] - 1}&limit=2", headers=h("host")).json()
    assert [r["seq"] for r in rows] == first["seqs"] and [r["text"] for r in rows] == ["多少钱", "链接"]
    assert client.post("/rooms/nope/comments", json=batch, headers=h("ingest")).status_code == 404
    assert client.post("/rooms/r1/comments", json={"comments": []}, headers=h("ingest")).status_code == 422
    big = {"comments": [{"comment_id": str(i), "text": "x" * 100} for i in range(60)]}
    assert client.post("/rooms/r1/comments", json=big, headers=h("ingest")).status_code == 413


def test_streamed_body_over_the_limit_is_cut_off_without_content_length(client: TestClient) -> None:
    """A chunked upload declares no size: it is counted as it arrives and refused at the limit (413),
    and nothing of it is stored; the same comments in a small batch still go through."""
    chunk = b'{"comments": [' + b",".join(b'{"comment_id": "s%d", "text": "%s"}' % (i, b"y" * 100)
                                       for i in range(60)) + b"]}"
    assert len(chunk) > 4096

    def stream():  # a generator body: httpx sends it chunked, with no Content-Length
        yield chunk[:2000]
        yield chunk[2000:]

    r = client.post("/rooms/r1/comments", content=stream(), headers={**h("ingest"), "content-type": "application/json"})
    assert r.status_code == 413 and "large" in r.text.lower()
    stored = client.get("/rooms/r1/comments?since=0&limit=1000", headers=h("host")).json()
    assert not any(c["comment_id"].startswith("s") for c in stored)
    ok = client.post("/rooms/r1/comments", json={"comments": [{"comment_id": "s0", "text": "多少钱"}]},
                     headers=h("ingest"))
    assert ok.status_code == 200 and ok.json()["comment_ids"] == ["s0"]


def test_answer_on_demand(client: TestClient) -> None:
    """POST /answer answers about the on-stage product, or hands off."""
    r = client.post("/rooms/r1/answer", json={"question": "多少钱"}, headers=h("bot")).json()
    assert (r["text"], r["handoff"], r["product_id"]) == ("商品p1 现在 10 元", False, "p1")
    assert client.post("/rooms/r1/answer", json={"question": "在吗"}, headers=h("bot")).json()["handoff"] is True
    assert client.post("/rooms/r1/answer", json={"question": ""}, headers=h("bot")).status_code == 422


def close_code(client: TestClient, url: str) -> tuple[dict[str, Any], int]:
    with client.websocket_connect(url) as ws:
        first = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
    return first, info.value.code


def test_ws_refusals_say_why_with_documented_codes(client: TestClient) -> None:
    """Missing key 4401, wrong role 4403, unknown room 4404 — each after a typed error."""
    err, code = close_code(client, "/ws/rooms/r1/comments")
    assert (err["type"], err["code"], code) == ("error", "unauthorized", 4401)
    err, code = close_code(client, f"/ws/rooms/r1/teleprompter?key={KEYS['bot']}")
    assert (err["code"], code) == ("forbidden", 4403)
    err, code = close_code(client, f"/ws/rooms/nope/bot?key={KEYS['bot']}")
    assert (err["code"], code) == ("room_not_found", 4404)


def test_ws_ingest_acks_and_bad_frames_get_typed_errors(client: TestClient) -> None:
    """Comments are acked with seqs; bad JSON and unknown types are typed errors; the connection lives."""
    with client.websocket_connect(f"/ws/rooms/r1/comments?key={KEYS['ingest']}") as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_text("{oops")
        assert ws.receive_json()["code"] == "invalid_json"
        ws.send_json({"type": "dance"})
        assert ws.receive_json()["code"] == "unknown_type"
        ws.send_json([{"comment_id": "w1", "text": "多少钱"}, {"comment_id": "w2", "text": "多少钱"}])
        ack = ws.receive_json()
        assert ack["type"] == "ack" and ack["comment_ids"] == ["w1", "w2"] and len(set(ack["seqs"])) == 2
        ws.send_text(json.dumps({"comment_id": "w3", "text": "x" * 5000}))
        too_big = ws.receive_json()
        assert too_big["code"] == "message_too_big"
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 1009


def test_ws_teleprompter_gets_cards_and_marks_done(client: TestClient) -> None:
    """A host sees the group card built from ingested comments and can mark it done for everyone."""
    with client.websocket_connect(f"/ws/rooms/r1/teleprompter?key={KEYS['host']}") as ws:
        assert ws.receive_json()["type"] == "hello"
        assert ws.receive_json()["snapshot"] is True
        batch = {"comments": [{"comment_id": f"q{i}", "text": "多少钱"} for i in range(3)]}
        client.post("/rooms/r1/comments", json=batch, headers=h("ingest"))
        msg = ws.receive_json()
        while msg["type"] != "cards" or not any(c["kind"] == "question_group" for c in msg["cards"]):
            msg = ws.receive_json()
        card = next(c for c in msg["cards"] if c["kind"] == "question_group")
        assert card["count"] == 3
        ws.send_json({"type": "mark_done", "card_id": card["id"]})
        msg = ws.receive_json()
        while msg["type"] != "card_done":
            msg = ws.receive_json()
        assert msg["card_id"] == card["id"]
        assert card["id"] not in [c["id"] for c in client.get("/rooms/r1/cards", headers=h("host")).json()]
        ws.send_json({"type": "set_on_stage", "product_id": "p9"})
        msg = ws.receive_json()
        while msg["type"] != "error":
            msg = ws.receive_json()
        assert msg["code"] == "rejected" and "line-up" in msg["reason"]


def test_ws_flood_is_rate_limited(tmp_path: Path, hashing_embedder: Any) -> None:
    """A connection sending faster than its limit is told `rate_limited`, then closed with 4429."""
    app = create_app(live_settings(tmp_path, ws_messages_per_s=5), embedder=hashing_embedder)
    with TestClient(app) as c:
        seed_room(app.state.services.store)
        with c.websocket_connect(f"/ws/rooms/r1/bot?key={KEYS['bot']}") as ws:
            for _ in range(70):
                ws.send_json({"type": "ping"})
            codes = []
            with pytest.raises(WebSocketDisconnect) as info:
                while True:
                    m = ws.receive_json()
                    codes.append(m.get("code"))
            assert "rate_limited" in codes and info.value.code == 4429
