"""The widget key: what it may do (recommendations, related products, events) and may not (anything
else), the shop-origin check, the per-client limit (429), and POST /events with unknown products and floods."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from knowledge.events import implicit_feedback

WIDGET, HOST = "w-pub", "h-key"
SHOP = "https://shop.example"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app on the demo store with a fixed widget key accepted only from SHOP, 5 calls/s per client."""
    from knowledge.embedder import HashingEmbedder

    settings = Settings(data_dir=Path(tmp_path_factory.mktemp("widget-key")), embedding_model="hashing",
                        api_key_widget=WIDGET, api_key_host=HOST, widget_origins=[SHOP],
                        widget_client_per_s=5.0, widget_max_events=100)
    with TestClient(create_app(settings, embedder=HashingEmbedder(64))) as c:
        yield c


def w(origin: str = SHOP) -> dict[str, str]:
    return {"X-API-Key": WIDGET, "Origin": origin}


def test_widget_key_reads_recommendations_only_from_the_shop(client: TestClient) -> None:
    """No key 401; the widget key from the shop 200; from another origin 403; on a host route 403."""
    client.app.state.services.extras.pop("widget_limiter", None)  # type: ignore[attr-defined]
    assert client.get("/recommendations?k=2").status_code == 401
    assert client.get("/recommendations?k=2", headers=w()).status_code == 200
    assert client.get("/products/p001/related?k=2", headers=w()).status_code == 200
    r = client.get("/recommendations?k=2", headers=w("https://evil.example"))
    assert r.status_code == 403 and "CUECARD_WIDGET_ORIGINS" in r.json()["detail"]
    assert client.get("/rooms", headers=w()).status_code == 403
    assert client.post("/purchases", json={"purchases": []}, headers=w()).status_code == 403
    assert client.get("/recommendations?k=2", headers={"X-API-Key": HOST}).status_code == 200  # no origin check


def test_a_flooding_client_gets_429(client: TestClient) -> None:
    """Past the per-client bucket (burst 10 at 5/s) the widget answers 429 with Retry-After."""
    client.app.state.services.extras.pop("widget_limiter", None)  # type: ignore[attr-defined]
    codes = [client.get("/recommendations?k=1", headers=w()).status_code for _ in range(30)]
    assert codes[:5] == [200] * 5 and 429 in codes
    r = client.get("/recommendations?k=1", headers=w())
    assert r.status_code == 429 and r.headers["retry-after"] == "1"


def test_events_are_stored_with_unknown_products_named(client: TestClient) -> None:
    """A batch is stored; an unknown product is stored and named back; a bad kind is 422; too many 413."""
    client.app.state.services.extras.pop("widget_limiter", None)  # type: ignore[attr-defined]
    batch = {"events": [{"kind": "impression", "item_id": "p001", "user_id": "shopper-1"},
                        {"kind": "click", "item_id": "p001", "user_id": "shopper-1"},
                        {"kind": "add_to_cart", "item_id": "p001", "user_id": "shopper-1"},
                        {"kind": "purchase", "item_id": "no-such-product", "user_id": "shopper-1"}]}
    r = client.post("/events", json=batch, headers=w())
    assert r.status_code == 202 and r.json() == {"stored": 4, "unknown_items": ["no-such-product"]}
    assert client.post("/events", json={"events": [{"kind": "buy", "item_id": "p001"}]}, headers=w()).status_code == 422
    assert client.post("/events", json={"events": []}, headers=w()).status_code == 422
    many = {"events": [{"kind": "impression", "item_id": "p001"}] * 101}
    assert client.post("/events", json=many, headers=w()).status_code == 413
    assert client.post("/events", json=batch).status_code == 401
    store = client.app.state.services.store  # type: ignore[attr-defined]
    fb = {(u, i): v for u, i, v in implicit_feedback(store, {"click": 0.3, "add_to_cart": 0.6})}
    assert fb == {("shopper-1", "p001"): pytest.approx(0.9)}  # impressions weigh 0, unknown products left out


def test_widget_script_and_labels_are_served(client: TestClient) -> None:
    """The widget script reads its key, theme and images; both label files are served."""
    js = client.get("/static/widget.js").text
    assert "d.key" in js and "image_url" in js and "d.accent" in js and "/events" in js
    assert client.get("/static/i18n/en.json").json()["widget.reason.popular"] == "best seller"
