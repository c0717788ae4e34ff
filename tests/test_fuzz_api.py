"""Fuzz: schemathesis over the REST API's OpenAPI schema (no request may cause a 5xx), and
hypothesis over WebSocket frames (every frame gets a typed reply or a documented close code,
and the room keeps serving everyone else)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_fakes import FakePipeline, seed_room
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from api.live.protocol import CloseCode
from api.settings import Settings
from knowledge.embedder import HashingEmbedder

KEYS = {"ingest": "f-ingest", "host": "f-host", "bot": "f-bot", "admin": "f-admin"}
ERROR_CODES = {"invalid_json", "invalid_message", "unknown_type", "unsupported_version", "rate_limited",
               "message_too_big", "rejected", "not_found"}
DOCUMENTED_CLOSES = {int(c) for c in CloseCode} | {1008}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A running app (lifespan started) over a store with room r1."""
    data: Path = tmp_path_factory.mktemp("fuzz")
    web = create_app(Settings(data_dir=data, load_demo=False, embedding_model="hashing", max_message_bytes=8192,
                              ws_messages_per_s=10_000, **{f"api_key_{r}": k for r, k in KEYS.items()}),
                     embedder=HashingEmbedder(256))
    with TestClient(web):
        seed_room(web.state.services.store)
        web.state.services.live.pipeline = FakePipeline()
        yield web


def test_rest_api_never_fails_on_any_input(app: Any) -> None:
    """Whatever the schema allows (and the fuzzer bends), every operation answers without a 5xx."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    statuses: dict[int, int] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)
        @given(case=operation.as_strategy())
        def exercise(case: Any) -> None:
            response = case.call(headers={"X-API-Key": KEYS["admin"]})
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")

        exercise()
    assert operations >= 8 and sum(statuses.values()) >= 8 * operations
    print(f"{operations} operations, responses by status: {dict(sorted(statuses.items()))}")
    assert failures == []


FRAMES = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=100),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
                 lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
                 max_leaves=25).map(json.dumps),
    st.fixed_dictionaries({"type": st.sampled_from(["comment", "comments", "ping", "mark_done", "set_on_stage", "ask"])},
                          optional={"comment_id": st.text(max_size=140), "text": st.text(max_size=50),
                                    "ts": st.floats(allow_nan=False) | st.text(max_size=5),
                                    "card_id": st.text(max_size=10), "product_id": st.text(max_size=70),
                                    "question": st.text(max_size=30), "v": st.integers(0, 3),
                                    "comments": st.lists(st.dictionaries(
                                        st.sampled_from(["comment_id", "text", "user_id", "ts"]),
                                        st.text(max_size=8) | st.integers()), max_size=3)}).map(json.dumps),
    st.just("x" * 9000),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(kind=st.sampled_from(["comments", "teleprompter", "bot"]), frames=st.lists(FRAMES, min_size=1, max_size=4))
def test_ws_frames_get_typed_replies_and_the_room_carries_on(app: Any, kind: str, frames: list[Any]) -> None:
    """Each fuzzed frame is answered by a typed message or a documented close, and a fresh
    connection to the same room still works afterwards."""
    role = {"comments": "ingest", "teleprompter": "host", "bot": "bot"}[kind]
    client = TestClient(app)
    with client.websocket_connect(f"/ws/rooms/r1/{kind}?key={KEYS[role]}") as ws:
        assert ws.receive_json()["type"] == "hello"
        for frame in frames:
            try:
                if isinstance(frame, bytes):
                    ws.send_bytes(frame)
                else:
                    ws.send_text(frame)
                ws.send_text(json.dumps({"type": "ping", "id": "probe"}))
                while True:  # drain until our probe's pong: everything before it must be typed
                    msg = ws.receive_json()
                    assert msg["v"] == 1 and isinstance(msg["type"], str)
                    if msg["type"] == "error":
                        assert msg["code"] in ERROR_CODES, msg
                    if msg["type"] == "pong" and msg.get("id") == "probe":
                        break
            except WebSocketDisconnect as closed:
                assert closed.code in DOCUMENTED_CLOSES
                break
    with client.websocket_connect(f"/ws/rooms/r1/comments?key={KEYS['ingest']}") as ws:
        ws.receive_json()
        ws.send_json({"type": "ping", "id": "after"})
        assert ws.receive_json() == {"v": 1, "type": "pong", "id": "after"}
