"""Knowledge-gap routes in-process (TestClient, demo shop, hashing embedder): keys, listing, answering, 404/409/422,
and the hand-off hook of `POST /rooms/{id}/answer`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from assistant.gaps import GapDesk
from knowledge.embedder import HashingEmbedder

HOST, BOT, ADMIN, INGEST = "gap-host", "gap-bot", "gap-admin", "gap-ingest"
QUESTION = "主播身上这件外套是哪个牌子的"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app over the demo shop with fixed keys."""
    path: Path = tmp_path_factory.mktemp("gap-routes")
    settings = Settings(data_dir=path, embedding_model="hashing", load_demo=True, api_key_host=HOST,
                        api_key_bot=BOT, api_key_admin=ADMIN, api_key_ingest=INGEST)
    with TestClient(create_app(settings, embedder=HashingEmbedder(256))) as c:
        yield c


def _h(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def _gaps(client: TestClient) -> Any:
    return client.app.state.services.extras["gaps"].gaps  # type: ignore[attr-defined]


def test_keys_list_filter_and_errors(client: TestClient) -> None:
    """No key 401, bot/ingest 403, host and admin list; unknown 404, blank 422, twice 409, status filter."""
    gid = _gaps(client).record("room-x", "几点开始抽奖", "text:几点开始抽奖", None)
    assert client.get("/knowledge/gaps").status_code == 401
    assert client.get("/knowledge/gaps", headers=_h(BOT)).status_code == 403
    assert client.post(f"/knowledge/gaps/{gid}/answer", json={"text": "八点"}, headers=_h(INGEST)).status_code == 403
    listed = client.get("/knowledge/gaps", params={"room_id": "room-x"}, headers=_h(HOST)).json()
    assert [(g["id"], g["count"], g["samples"]) for g in listed] == [(gid, 1, ["几点开始抽奖"])]
    assert client.get("/knowledge/gaps", params={"room_id": "nowhere"}, headers=_h(ADMIN)).json() == []
    assert client.get("/knowledge/gaps", params={"status": "closed"}, headers=_h(HOST)).status_code == 422
    r = client.post("/knowledge/gaps/999999/answer", json={"text": "八点"}, headers=_h(HOST))
    assert r.status_code == 404 and r.json()["error"] == "NotFoundError"
    r = client.post(f"/knowledge/gaps/{gid}/answer", json={"text": "   "}, headers=_h(HOST))
    assert r.status_code == 422 and r.json()["error"] == "InvalidInputError"
    r = client.post(f"/knowledge/gaps/{gid}/answer", json={"text": "今晚八点整开始抽奖。"}, headers=_h(ADMIN))
    assert r.status_code == 200 and r.json()["status"] == "answered" and r.json()["doc_id"] == f"gap-{gid}"
    r = client.post(f"/knowledge/gaps/{gid}/answer", json={"text": "再答一次。"}, headers=_h(HOST))
    assert r.status_code == 409 and r.json()["error"] == "ConflictError"
    doc = client.get(f"/kb/documents/gap-{gid}", headers=_h(HOST)).json()
    assert doc["kind"] == "faq" and doc["text"] == "今晚八点整开始抽奖。"
    answered = client.get("/knowledge/gaps", params={"room_id": "room-x", "status": "answered"}, headers=_h(HOST))
    assert [g["id"] for g in answered.json()] == [gid]
    assert client.get("/knowledge/gaps", params={"room_id": "room-x"}, headers=_h(HOST)).json() == []


def test_a_handed_off_ask_becomes_a_gap_and_its_written_answer_answers_the_next_one(client: TestClient) -> None:
    """POST /rooms/demo/answer hands off a question the shop has no knowledge of → a gap of the demo room
    (asked twice: count 2); once answered, the same question is answered from the gap's FAQ document."""
    for _ in range(2):
        r = client.post("/rooms/demo/answer", json={"question": QUESTION}, headers=_h(BOT))
        assert r.status_code == 200 and r.json()["handoff"], r.json()
    gaps = client.get("/knowledge/gaps", params={"room_id": "demo"}, headers=_h(HOST)).json()
    gap = next(g for g in gaps if QUESTION in g["samples"])
    assert gap["count"] == 2 and gap["first_ts"] <= gap["last_ts"]
    r = client.post(f"/knowledge/gaps/{gap['id']}/answer", json={"text": "主播穿的是店里自有品牌的外套，暂未上架。"},
                    headers=_h(HOST))
    assert r.status_code == 200
    body = client.post("/rooms/demo/answer", json={"question": QUESTION}, headers=_h(BOT)).json()
    assert not body["handoff"] and body["sources"] == [f"gap-{gap['id']}"], body
    assert "自有品牌" in body["text"] and f"knowledge gap {gap['id']}" in body["reason"]


def test_only_knowledge_handoffs_are_gaps() -> None:
    """A hand-off by intent or compliance is not a gap; one for want of knowledge is; answers are not."""

    class A:
        def __init__(self, handoff: bool, reason: str) -> None:
            self.handoff, self.reason = handoff, reason

    assert GapDesk.is_gap(A(True, "the knowledge base has nothing on this"))
    assert GapDesk.is_gap(A(True, "P(right) 0.20 is below the threshold 0.60 for precision 0.90"))
    assert not GapDesk.is_gap(A(True, "intent 'chitchat' is not a question CueCard answers"))
    assert not GapDesk.is_gap(A(True, "the answer still breaks a compliance rule after rewriting"))
    assert not GapDesk.is_gap(A(False, "answered from faq-1"))


def test_a_written_answer_is_preferred_for_its_wordings_and_products_only(tmp_path: Path) -> None:
    """After answering, the gap's wordings (punctuation aside) about its product find its FAQ; another
    question of the same frame, or the same wording about another product, does not."""
    from knowledge.gaps import GapStore
    from knowledge.store import Store

    desk = GapDesk(GapStore(Store(f"sqlite:///{tmp_path / 'g.db'}")))

    class Handoff:
        handoff, reason = True, "the knowledge base has nothing on this"

    gid = desk.observe("r1", "能用安卓手机吗", "p1", Handoff())
    assert desk.observe("r1", "能用安卓手机吗？", "p1", Handoff()) == gid
    assert desk.written("能用安卓手机吗", "p1") is None  # not answered yet

    class KB:
        def add(self, doc: dict[str, Any]) -> dict[str, Any]:
            return doc

    desk.gaps.answer(gid, "支持安卓和苹果手机。", KB())
    assert desk.written("能用安卓手机吗！", "p1") == (gid, f"gap-{gid}")
    assert desk.written("能放洗碗机吗", "p1") is None  # same frame (compatibility), another question
    assert desk.written("能用安卓手机吗", "p2") is None  # another product


def test_the_one_off_answer_route_records_its_handoffs_too(client: TestClient) -> None:
    """POST /answer with a room: a hand-off joins that room's gaps; a chitchat hand-off (by intent) does not."""
    question = "你们仓库在哪个城市呀"
    r = client.post("/answer", json={"question": question, "room_id": "demo"}, headers=_h(BOT))
    assert r.status_code == 200 and r.json()["handoff"], r.json()
    r = client.post("/answer", json={"question": "哈哈哈", "room_id": "demo", "intent": "chitchat"}, headers=_h(BOT))
    assert r.json()["handoff"]
    samples = [s for g in client.get("/knowledge/gaps", params={"room_id": "demo"}, headers=_h(HOST)).json()
               for s in g["samples"]]
    assert question in samples and "哈哈哈" not in samples
