"""Recommendation routes in-process (TestClient) on the demo store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings

INGEST, ADMIN, WIDGET = "ingest-test-key", "admin-test-key", "widget-test-key"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, ) -> Iterator[TestClient]:
    """One app on a fresh demo store (the recommender trains on its purchases at start-up)."""
    from knowledge.embedder import HashingEmbedder

    settings = Settings(data_dir=Path(tmp_path_factory.mktemp("recs")), embedding_model="hashing",
                        api_key_ingest=INGEST, api_key_admin=ADMIN, api_key_widget=WIDGET,
                        max_request_bytes=64 * 1024, widget_client_per_s=10_000)
    with TestClient(create_app(settings, embedder=HashingEmbedder(256)), headers={"X-API-Key": WIDGET}) as c:
        yield c  # the widget routes need the widget key (issue 14)


def known_user(client: TestClient) -> str:
    return str(client.app.state.services.recommender.model.data.user_ids[0])  # type: ignore[attr-defined]


def test_known_user_list_has_products_and_reasons(client: TestClient) -> None:
    """A known user gets k items, each with its product row and a reason from the agreed set."""
    r = client.get("/recommendations", params={"user_id": known_user(client), "k": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["fallback"] is None and body["model_version"] and len(body["items"]) == 5
    for item in body["items"]:
        assert item["product"]["id"] == item["item_id"] and item["product"]["stock"] > 0
        assert item["reason"] in {"bought_together", "because_you_bought", "popular_in_room", "live_now", "popular"}


def test_unknown_user_gets_documented_fallback(client: TestClient) -> None:
    """An unknown (or absent) user gets popular items and `fallback: popular`."""
    for params in ({"user_id": "never-seen", "k": 3}, {"k": 3}):
        body = client.get("/recommendations", params=params).json()
        assert body["fallback"] == "popular" and len(body["items"]) == 3
        assert {i["reason"] for i in body["items"]} == {"popular"}


def test_room_puts_on_stage_product_first(client: TestClient) -> None:
    """With the demo room, its product on stage comes first as `live_now` (unless the viewer owns it)."""
    room = client.app.state.services.store.get_room("demo")  # type: ignore[attr-defined]
    body = client.get("/recommendations", params={"user_id": "never-seen", "room_id": "demo", "k": 4}).json()
    assert body["items"][0]["item_id"] == room["on_stage"] and body["items"][0]["reason"] == "live_now"


@pytest.mark.parametrize("k", [0, -3, 101, 10**9])
def test_bad_k_is_422_with_reason(client: TestClient, k: int) -> None:
    """k ≤ 0 or too large answers 422 naming the allowed range."""
    r = client.get("/recommendations", params={"user_id": "x", "k": k})
    assert r.status_code == 422 and "between 1 and 100" in r.json()["detail"]


def test_unknown_room_and_product_are_404(client: TestClient) -> None:
    """A room or product that does not exist answers 404 with a reason."""
    assert client.get("/recommendations", params={"room_id": "nope"}).status_code == 404
    r = client.get("/products/nope/related")
    assert r.status_code == 404 and "nope" in r.json()["detail"]


def test_related_items(client: TestClient) -> None:
    """A sold product's related items come with reasons and never include itself."""
    body = client.get("/products/p001/related", params={"k": 4}).json()
    assert 0 < len(body["items"]) <= 4 and all(i["item_id"] != "p001" for i in body["items"])


def test_streamed_purchases_over_the_request_limit_are_refused_whole(client: TestClient) -> None:
    """A chunked batch over `max_request_bytes` is cut off with 413 while it streams; none of it is kept."""
    store = client.app.state.services.store  # type: ignore[attr-defined]
    before = store.count_purchases()
    lines = b",".join(b'{"user_id": "stream-user", "item_id": "p002", "basket_id": "b%d"}' % i for i in range(2000))
    body = b'{"purchases": [' + lines + b"]}"
    assert len(body) > 64 * 1024

    def stream():  # a generator body goes out chunked, with no Content-Length
        for start in range(0, len(body), 8192):
            yield body[start:start + 8192]

    r = client.post("/purchases", content=stream(), headers={"X-API-Key": INGEST, "content-type": "application/json"})
    assert r.status_code == 413
    assert store.count_purchases() == before


def test_purchases_need_a_key_and_valid_rows(client: TestClient) -> None:
    """POST /purchases: 401 without a key, 422 for a negative quantity or empty batch, 201 otherwise."""
    batch = {"purchases": [{"user_id": "route-user", "item_id": "p002", "basket_id": "b1"}]}
    assert client.post("/purchases", json=batch, headers={"X-API-Key": ""}).status_code == 401  # no key
    bad = {"purchases": [{"user_id": "u", "item_id": "p002", "quantity": -2}]}
    assert client.post("/purchases", json=bad, headers={"X-API-Key": INGEST}).status_code == 422
    assert client.post("/purchases", json={"purchases": []}, headers={"X-API-Key": INGEST}).status_code == 422
    r = client.post("/purchases", json=batch, headers={"X-API-Key": INGEST})
    assert r.status_code == 201 and r.json()["stored"] == 1
    body = client.get("/recommendations", params={"user_id": "route-user", "k": 3}).json()
    assert body["fallback"] is None  # the fresh purchase made the user known without a retrain


def test_reload_needs_admin_and_keeps_serving(client: TestClient) -> None:
    """Model reload is admin-only; after it the same version serves on."""
    assert client.post("/recommendations/model/reload", headers={"X-API-Key": INGEST}).status_code == 403
    r = client.post("/recommendations/model/reload", headers={"X-API-Key": ADMIN})
    assert r.status_code == 200 and r.json()["version"]
    assert client.get("/recommendations", params={"k": 2}).status_code == 200


def test_widget_script_and_demo_page(client: TestClient) -> None:
    """The widget script and its demo page are served."""
    js = client.get("/static/widget.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"] and "/recommendations" in js.text
    page = client.get("/widget/demo")
    assert page.status_code == 200 and "/static/widget.js" in page.text
