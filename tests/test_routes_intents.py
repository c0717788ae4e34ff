"""`/intents` routes: classify a batch, list labels, read a room's question groups."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from assistant.intents import INTENTS
from knowledge.embedder import HashingEmbedder
from knowledge.room import RoomState
from knowledge.store import StoredComment


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app with the hashing embedder and an empty store (the default intent model is trained at start)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("app"), embedding_model="hashing", load_demo=False,
                        api_key_bot="k-bot", api_key_admin="k-admin")
    with TestClient(create_app(settings, embedder=HashingEmbedder(256)), headers={"X-API-Key": "k-bot"}) as c:
        yield c


def test_routes_need_a_key(client: TestClient) -> None:
    """Without a key, or with a wrong one, every intents route answers 401."""
    assert client.post("/intents/classify", json={"texts": ["多少钱"]}, headers={"X-API-Key": ""}).status_code == 401
    assert client.get("/intents/labels", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/intents/groups/r1", headers={"X-API-Key": "wrong"}).status_code == 401


def test_classify_a_batch(client: TestClient) -> None:
    """Each text gets its labels; spam patterns take the fast path; an empty text is rejected, not an error."""
    response = client.post("/intents/classify", json={"texts": ["加v abc12345", "", "👍👍👍", "多少钱"]})
    assert response.status_code == 200
    body = response.json()
    assert [(r["top_intent"], r["source"]) for r in body[:3]] == [("spam", "fast"), ("spam", "rejected"),
                                                                  ("praise", "fast")]
    assert body[3]["source"] == "model" and body[3]["top_intent"] in body[3]["intents"]
    assert body[2]["normalized"] == "👍"


@pytest.mark.parametrize("payload", [{"texts": []}, {"texts": "多少钱"}, {}, {"texts": ["x"] * 1001}])
def test_bad_requests_are_422(client: TestClient, payload: dict[str, object]) -> None:
    """An empty, mistyped, missing or oversized batch is refused with 422 and a reason."""
    response = client.post("/intents/classify", json=payload)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_labels_and_model_version(client: TestClient) -> None:
    """The active model's labels start with the stable set and it has a version."""
    body = client.get("/intents/labels").json()
    assert body["labels"][: len(INTENTS)] == list(INTENTS) and body["version"]


def test_groups_of_a_room(client: TestClient) -> None:
    """Groups built by the pipeline are served biggest first; an unknown room has none."""
    pipeline = client.app.state.services.pipeline  # type: ignore[attr-defined]
    room = RoomState("r1", lineup=[{"id": "p1", "title": "面霜", "attributes": {"类型": "面霜"}}], on_stage="p1")
    pipeline.process(room, [StoredComment(i, "r1", "douyin", f"c{i}", "u", "新疆能发吗", 10.0 + i, True)
                            for i in range(3)])
    groups = client.get("/intents/groups/r1").json()
    assert groups[0]["count"] == 3 and groups[0]["representative"] == "新疆能发吗"
    assert client.get("/intents/groups/nowhere").json() == []


SHOP_EXAMPLES = [("多少钱", "price"), ("这个多少钱", "price"), ("包邮吗", "shipping"), ("什么时候发货", "shipping"),
                 ("155 90斤穿什么码", "size_advice"), ("160 100斤选哪个码", "size_advice"),
                 ("身高170穿l吗", "size_advice"), ("165 110斤什么码", "size_advice"), ("发什么快递", "shipping"),
                 ("价格多少", "price"), ("新疆能发吗", "shipping"), ("到手价多少", "price")]


def test_reload_swaps_in_a_model_trained_while_running(client: TestClient) -> None:
    """A model trained and recorded after start-up (as `cuecard intents train` does) is served after
    an admin reload: new version, the shop's own label, used by /classify at once."""
    from assistant.intents import save_classifier, train_classifier
    from assistant.labelled import Example

    services = client.app.state.services  # type: ignore[attr-defined]
    before = client.get("/intents/labels").json()
    assert "size_advice" not in before["labels"]
    assert client.post("/intents/model/reload").status_code == 403  # a bot key may not swap models
    examples = [Example(text, (label,)) for text, label in SHOP_EXAMPLES]
    classifier = train_classifier(services.embedder, examples)
    save_classifier(classifier, services.settings.models_dir, services.store)

    r = client.post("/intents/model/reload", headers={"X-API-Key": "k-admin"})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == classifier.version and r.json()["previous"] == before["version"]
    assert client.get("/intents/labels").json()["version"] == classifier.version
    top = client.post("/intents/classify", json={"texts": ["155 90斤穿什么码"]}).json()[0]["top_intent"]
    assert top == "size_advice"
