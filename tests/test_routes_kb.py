"""Knowledge and product routes in-process: CRUD that updates the index at once, search, answers,
compliance checks, keys, and clear 4xx errors for bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from knowledge.embedder import HashingEmbedder

HOST = {"X-API-Key": "k-host"}
BOT = {"X-API-Key": "k-bot"}


def make_app(data_dir: Path):  # type: ignore[no-untyped-def]
    """An app over a temporary data directory with the hashing embedder and fixed keys."""
    settings = Settings(data_dir=data_dir, load_demo=False, embedding_model="hashing", api_key_host="k-host",
                        api_key_bot="k-bot", api_key_admin="k-admin", api_key_ingest="k-ingest",
                        answer_min_confidence=0.3)
    return create_app(settings, embedder=HashingEmbedder())


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app for the module (start-up trains the intent head): two products, a warranty for each.

    Tests that change data create their own documents and products, so order does not matter.
    """
    with TestClient(make_app(tmp_path_factory.mktemp("kb-routes"))) as c:
        for p in ({"id": "earbuds", "title": "声悦 降噪蓝牙耳机", "category": "digital", "price": 199, "stock": 5,
                   "attributes": {"续航": "8小时"}},
                  {"id": "fryer", "title": "厨小白 空气炸锅", "category": "home", "price": 299, "stock": 3}):
            assert c.post("/products", json=p, headers=HOST).status_code == 201
        docs = [{"id": "earbuds-warranty", "kind": "policy", "product_id": "earbuds", "title": "耳机保修",
                 "text": "耳机一年质保，只换不修。"},
                {"id": "fryer-warranty", "kind": "policy", "product_id": "fryer", "title": "炸锅保修",
                 "text": "炸锅整机保修两年。"}]
        assert c.post("/kb/documents/bulk", json={"documents": docs}, headers=HOST).json() == {"imported": 2}
        yield c


def test_created_document_is_searchable_at_once(client: TestClient) -> None:
    """POST a document, then a search with its words finds it first; a second POST of the id is 409."""
    doc = {"id": "ship", "kind": "policy", "title": "发货", "text": "下单后48小时内发货，默认中通快递。"}
    r = client.post("/kb/documents", json=doc, headers=HOST)
    assert r.status_code == 201 and r.json()["product_id"] is None
    hits = client.get("/kb/search", params={"q": "多久发货 什么快递"}, headers=BOT).json()
    assert hits[0]["doc_id"] == "ship"
    assert client.post("/kb/documents", json=doc, headers=HOST).status_code == 409


def test_patch_and_delete_update_the_index(client: TestClient) -> None:
    """An edited text is what search finds; a deleted document is 404 and gone from search."""
    doc = {"id": "cup-warranty", "kind": "policy", "title": "杯子保修", "text": "保温杯一年保修。"}
    assert client.post("/kb/documents", json=doc, headers=HOST).status_code == 201
    r = client.patch("/kb/documents/cup-warranty", json={"text": "保温杯两年质保，免费换新。"}, headers=HOST)
    assert r.status_code == 200 and r.json()["text"] == "保温杯两年质保，免费换新。"
    hits = client.get("/kb/search", params={"q": "保温杯两年质保免费换新", "k": 1}, headers=BOT).json()
    assert hits[0]["doc_id"] == "cup-warranty"
    assert client.delete("/kb/documents/cup-warranty", headers=HOST).status_code == 204
    assert client.get("/kb/documents/cup-warranty", headers=BOT).status_code == 404
    ids = [h["doc_id"] for h in client.get("/kb/search", params={"q": "保温杯质保", "k": 10}, headers=BOT).json()]
    assert "cup-warranty" not in ids


def test_search_scoped_to_a_product(client: TestClient) -> None:
    """product_id keeps the other product's documents out (general documents may stay)."""
    hits = client.get("/kb/search", params={"q": "保修多久", "product_id": "fryer", "k": 10}, headers=BOT).json()
    assert hits[0]["doc_id"] == "fryer-warranty"
    assert {h["product_id"] for h in hits} <= {"fryer", None}


def test_documents_survive_a_restart(tmp_path: Path) -> None:
    """A document created through the API is searchable after the app restarts on the same data directory."""
    with TestClient(make_app(tmp_path)) as c:
        c.post("/kb/documents", json={"id": "gift", "kind": "faq", "text": "前200名送帆布袋。"}, headers=HOST)
    with TestClient(make_app(tmp_path)) as c:
        assert c.get("/kb/search", params={"q": "送帆布袋吗", "k": 1}, headers=BOT).json()[0]["doc_id"] == "gift"


def test_product_changes_reach_facts_and_answers(client: TestClient) -> None:
    """A product's attributes are listed as facts; a price change is what /answer says next."""
    lamp = {"id": "lamp", "title": "明眸 护眼台灯", "category": "home", "price": 99, "stock": 4,
            "attributes": {"色温": "3000到5000K"}}
    assert client.post("/products", json=lamp, headers=HOST).status_code == 201
    assert client.post("/products", json=lamp, headers=HOST).status_code == 409
    facts = client.get("/kb/documents", params={"include_facts": True, "product_id": "lamp"}, headers=BOT).json()
    assert [d["id"] for d in facts] == ["product:lamp:色温"]
    assert client.patch("/products/lamp", json={"price": 79}, headers=HOST).json()["price"] == 79
    a = client.post("/answer", json={"question": "台灯多少钱", "product_id": "lamp", "intent": "price"},
                    headers=BOT).json()
    assert "79" in a["text"] and not a["handoff"] and a["sources"] == ["product:lamp"]
    assert client.delete("/products/lamp", headers=HOST).status_code == 204
    assert client.get("/products/lamp", headers=BOT).status_code == 404
    assert client.get("/kb/documents/product:lamp:色温", headers=BOT).status_code == 404


def test_products_list_and_search(client: TestClient) -> None:
    """Products list by id; `q` matches title or brand words, `category` filters."""
    assert [p["id"] for p in client.get("/products", headers=BOT).json()][:2] == ["earbuds", "fryer"]
    assert [p["id"] for p in client.get("/products", params={"q": "炸锅"}, headers=BOT).json()] == ["fryer"]
    assert [p["id"] for p in client.get("/products", params={"category": "digital"}, headers=BOT).json()] == ["earbuds"]


def test_answer_from_documents_and_handoff(client: TestClient) -> None:
    """A covered question is answered with its source; an uncovered one is handed off."""
    a = client.post("/answer", json={"question": "耳机保修多久"}, headers=BOT).json()
    assert a["sources"][0] == "earbuds-warranty" and not a["handoff"]
    b = client.post("/answer", json={"question": "主播今年多大了 哪里人"}, headers=BOT).json()
    assert b["handoff"] and b["talking_point"] == ""


def test_compliance_check(client: TestClient) -> None:
    """Findings come with spans and the rewritten text is clean."""
    r = client.post("/compliance/check", json={"text": "全网最低价，绝对好用"}, headers=HOST).json()
    assert not r["clean"] and [f["term"] for f in r["findings"]] == ["全网最低价", "绝对"]
    assert r["findings"][0]["start"] == 0 and r["rewritten"] == "直播间优惠价，非常好用"
    assert client.post("/compliance/check", json={"text": "今天发货"}, headers=HOST).json()["clean"]


@pytest.mark.parametrize("method, path, body", [
    ("post", "/kb/documents", {"id": "x", "kind": "news", "text": "t"}),
    ("post", "/kb/documents", {"id": "x", "kind": "faq", "text": ""}),
    ("post", "/products", {"id": "p", "title": "t", "price": -1}),
    ("patch", "/products/earbuds", {"stock": -3}),
    ("post", "/answer", {"question": ""}),
])
def test_bad_input_is_422(client: TestClient, method: str, path: str, body: dict) -> None:
    """Bad documents, products and questions are refused with 422 and a reason."""
    r = getattr(client, method)(path, json=body, headers=HOST)
    assert r.status_code == 422 and r.json()["detail"]


def test_unknown_ids_are_404(client: TestClient) -> None:
    """Missing documents, products and rooms are 404 with a reason."""
    assert client.patch("/kb/documents/nope", json={"text": "x"}, headers=HOST).status_code == 404
    assert client.patch("/products/nope", json={"price": 1}, headers=HOST).status_code == 404
    r = client.get("/kb/search", params={"q": "保修", "room_id": "nope"}, headers=BOT)
    assert r.status_code == 404 and "nope" in r.json()["detail"]


def test_keys_are_required(client: TestClient) -> None:
    """No key is 401; a bot key cannot write."""
    assert client.get("/kb/search", params={"q": "保修"}).status_code == 401
    assert client.post("/kb/documents", json={"id": "y", "kind": "faq", "text": "t"}, headers=BOT).status_code == 403
