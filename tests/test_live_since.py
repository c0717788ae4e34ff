"""`?since=` on a subscriber WebSocket: a malformed value is closed with 1008 after the handshake, as
docs/protocol.md promises (it used to be a bare HTTP 403 during the handshake)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from live_fakes import seed_room
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from api.settings import Settings

KEYS = {"ingest": "s-ingest", "host": "s-host", "bot": "s-bot", "admin": "s-admin"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A test app over a seeded room r1."""
    from knowledge.embedder import HashingEmbedder

    tmp: Path = tmp_path_factory.mktemp("since")
    app = create_app(Settings(data_dir=tmp, load_demo=False, embedding_model="hashing",
                              **{f"api_key_{r}": k for r, k in KEYS.items()}), embedder=HashingEmbedder(64))
    with TestClient(app) as c:
        seed_room(app.state.services.store)
        yield c


@pytest.mark.parametrize("kind", ["teleprompter", "bot"])
@pytest.mark.parametrize("since", ["abc", "-1", "1.5"])
def test_malformed_since_is_closed_with_1008(client: TestClient, kind: str, since: str) -> None:
    """The handshake succeeds, then the server closes with 1008."""
    role = "host" if kind == "teleprompter" else "bot"
    with client.websocket_connect(f"/ws/rooms/r1/{kind}?key={KEYS[role]}&since={since}") as ws, \
            pytest.raises(WebSocketDisconnect) as info:
        ws.receive_json()
    assert info.value.code == 1008


def test_integer_since_still_connects(client: TestClient) -> None:
    """A valid since gets the usual hello."""
    with client.websocket_connect(f"/ws/rooms/r1/bot?key={KEYS['bot']}&since=0") as ws:
        assert ws.receive_json()["type"] == "hello"
