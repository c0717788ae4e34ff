"""Repeat-purchase routes in-process (TestClient): due items, outreach list, segments, profile, deletion."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings

INGEST, HOST, ADMIN = "ingest-k", "host-k", "admin-k"
DAY = 86_400.0


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    """An app on an empty store with a weekly milk buyer, a one-off buyer and a shopper gone for 60 days."""
    from knowledge.embedder import HashingEmbedder

    settings = Settings(data_dir=tmp_path, embedding_model="hashing", load_demo=False, api_key_ingest=INGEST,
                        api_key_host=HOST, api_key_admin=ADMIN, shoppers_refresh_s=0)
    now = time.time()
    lines = [{"user_id": "weekly", "item_id": "milk", "basket_id": f"w{d}", "ts": now - d * DAY} for d in (24, 17, 10, 3)]
    lines += [{"user_id": "once", "item_id": "milk", "basket_id": "o1", "ts": now - 1 * DAY}]
    lines += [{"user_id": "gone", "item_id": "milk", "basket_id": f"g{d}", "ts": now - d * DAY} for d in (74, 67, 60)]
    with TestClient(create_app(settings, embedder=HashingEmbedder(64))) as c:
        assert c.post("/purchases", json={"purchases": lines}, headers={"X-API-Key": INGEST}).status_code == 201
        c.headers["X-API-Key"] = HOST
        yield c


def test_weekly_buyer_is_due_in_four_days(client: TestClient) -> None:
    """Milk every 7 days, last bought 3 days ago: due in 4 days, listed within 7 and not within 3."""
    items = client.get("/users/weekly/due", params={"within_days": 7}).json()["items"]
    assert [i["item_id"] for i in items] == ["milk"] and items[0]["due_in"] == pytest.approx(4.0, abs=0.1)
    assert client.get("/users/weekly/due", params={"within_days": 3}).json()["items"] == []


def test_outreach_list_and_bad_input(client: TestClient) -> None:
    """The outreach list has shopper, item, due and confidence; bad parameters are 422; no key is 401."""
    body = client.get("/replenishment", params={"within_days": 7, "limit": 10}).json()
    assert {"weekly", "once"} <= {r["user_id"] for r in body["items"]}
    assert all({"user_id", "item_id", "due", "confidence"} <= set(r) for r in body["items"])
    assert client.get("/replenishment", params={"within_days": -1}).status_code == 422
    assert client.get("/replenishment", params={"limit": 0}).status_code == 422
    assert client.get("/replenishment", headers={"X-API-Key": "wrong"}).status_code == 401


def test_profile_segments_and_unknown_user(client: TestClient) -> None:
    """A shopper away for 60 days is sleeping at high risk; the weekly buyer active at low risk; unknown is 404."""
    gone = client.get("/users/gone/profile").json()
    assert gone["segment"] == "sleeping" and gone["risk"] == "high" and gone["last_purchases"][0]["item_id"] == "milk"
    weekly = client.get("/users/weekly/profile").json()
    assert weekly["segment"] == "active" and weekly["risk"] == "low" and weekly["due"][0]["item_id"] == "milk"
    assert client.get("/users/nobody/profile").status_code == 404
    assert client.get("/users/nobody/due").status_code == 404
    counts = client.get("/segments").json()["counts"]
    assert counts["segment.sleeping"] == 1 and counts["segment.active"] == 2


def test_delete_user_needs_admin_and_forgets_at_once(client: TestClient) -> None:
    """DELETE /users/{id} is admin-only and removes the shopper's purchases and profile at once."""
    assert client.delete("/users/weekly").status_code in (401, 403)
    r = client.delete("/users/weekly", headers={"X-API-Key": ADMIN})
    assert r.status_code == 200 and r.json()["removed"]["purchases"] == 4
    assert client.get("/users/weekly/profile").status_code == 404
    assert client.app.state.services.store.list_purchases("weekly") == []  # type: ignore[attr-defined]


def test_segments_panel_asset_and_labels(client: TestClient) -> None:
    """The dashboard loads segments.js, and every label it uses exists in both languages."""
    import json
    import re

    js = client.get("/static/live/segments.js")
    assert js.status_code == 200 and "/segments" in js.text
    static = Path(__file__).resolve().parents[1] / "api" / "static"
    keys = {f"segments.{k}" for k in ("title", "loyal", "active", "lapsing", "sleeping", "high_value", "unavailable")}
    keys |= {f"segments.risk_{r}" for r in ("high", "medium", "low")}
    keys |= {f"segments.col_{c}" for c in re.findall(r'"(\w+)"', 'user" "segment" "risk" "orders" "recency"')}
    for lang in ("zh-CN", "en"):
        labels = json.loads((static / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
        assert keys <= set(labels), keys - set(labels)


def test_links_switch_and_delete_removes_links(client: TestClient) -> None:
    """Links need the ingest key; the room switch is off by default; deleting a shopper removes their links."""
    links = {"links": [{"platform": "douyin", "platform_user_id": "dy-1", "user_id": "weekly"}]}
    assert client.post("/shopper-links", json=links).status_code in (401, 403)
    assert client.post("/shopper-links", json=links, headers={"X-API-Key": INGEST}).json() == {"stored": 1}
    assert client.post("/shopper-links", json={"links": []}, headers={"X-API-Key": INGEST}).status_code == 422
    assert client.get("/returning-buyers/demo").json()["enabled"] is False
    assert client.put("/returning-buyers/demo", json={"enabled": True}).json()["enabled"] is True
    r = client.delete("/users/weekly", headers={"X-API-Key": ADMIN}).json()
    assert r["removed"]["shopper_links"] == 1
