"""Knowledge documents: validation, JSONL/CSV/Markdown import, and product facts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.documents import (
    KINDS,
    load_documents,
    load_products,
    parse_markdown,
    product_facts,
    validate_document,
)
from knowledge.errors import InvalidInputError


def test_validate_document_cleans_fields() -> None:
    """A valid document keeps its fields; tags given as a string are split; 'null' product is None."""
    doc = validate_document({"id": " d1 ", "kind": "faq", "product_id": "null", "title": " t ",
                             "text": " 包邮吗？包邮 ", "tags": "发货, 物流"})
    assert doc == {"id": "d1", "kind": "faq", "product_id": None, "title": "t", "text": "包邮吗？包邮",
                   "tags": ["发货", "物流"]}


@pytest.mark.parametrize("raw, message", [
    ({"kind": "faq", "text": "x"}, "needs an 'id'"),
    ({"id": "d", "kind": "news", "text": "x"}, "expected one of"),
    ({"id": "d", "kind": "faq", "text": "  "}, "empty 'text'"),
    ({"id": "product:p1:x", "kind": "faq", "text": "x"}, "reserved"),
    ({"id": "bad id!", "kind": "faq", "text": "x"}, "characters"),
])
def test_validate_document_rejects_bad_input(raw: dict, message: str) -> None:
    """Each kind of bad document is refused with a reason."""
    with pytest.raises(InvalidInputError, match=message):
        validate_document(raw)


def test_kinds_are_the_four_of_the_issue() -> None:
    """The document kinds are exactly product_fact, faq, policy, talking_point."""
    assert set(KINDS) == {"product_fact", "faq", "policy", "talking_point"}


def test_jsonl_import_names_the_bad_line(tmp_path: Path) -> None:
    """A JSONL file loads one document a line; a broken line is reported by number."""
    good = tmp_path / "docs.jsonl"
    good.write_text(json.dumps({"id": "a", "kind": "faq", "product_id": None, "title": "T", "text": "文本"},
                               ensure_ascii=False) + "\n\n", encoding="utf-8")
    assert [d["id"] for d in load_documents(good)] == ["a"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "kind": "faq", "text": "x"}\n{not json\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match="line 2"):
        load_documents(bad)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    """Two documents with one id in a file are an error, not a silent overwrite."""
    path = tmp_path / "dup.jsonl"
    line = json.dumps({"id": "a", "kind": "faq", "text": "x"})
    path.write_text(line + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="twice"):
        load_documents(path)


def test_csv_import(tmp_path: Path) -> None:
    """A CSV with id, kind, text (and optional columns) loads; a missing column is named."""
    path = tmp_path / "docs.csv"
    path.write_text("id,kind,product_id,title,text,tags\nship,policy,,发货,48小时内发货,发货|物流\n", encoding="utf-8")
    [doc] = load_documents(path)
    assert doc["id"] == "ship" and doc["product_id"] is None and doc["tags"] == ["发货", "物流"]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title\nx,y\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="kind"):
        load_documents(bad)


def test_markdown_one_section_a_document(tmp_path: Path) -> None:
    """Each ## section is a document; leading id/kind/product_id lines set fields; ### stays in the body."""
    text = ("# 店铺知识\n前言不算文档\n\n## 耳机保修\nid: earbuds-warranty\nkind: policy\nproduct_id: p1\n"
            "一年只换不修。\n### 细节\n人为损坏除外。\n\n## 发货时间\n48小时内发货。\n")
    path = tmp_path / "shop.md"
    path.write_text(text, encoding="utf-8")
    docs = load_documents(path)
    assert [d["id"] for d in docs] == ["earbuds-warranty", "shop-2"]
    assert docs[0]["kind"] == "policy" and docs[0]["product_id"] == "p1" and docs[0]["title"] == "耳机保修"
    assert "人为损坏除外" in docs[0]["text"] and docs[1]["kind"] == "faq"
    assert parse_markdown("no sections here") == []
    empty = tmp_path / "empty.md"
    empty.write_text("just text", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="section"):
        load_documents(empty)


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    """An unsupported suffix or a missing file is a clear error."""
    other = tmp_path / "docs.xml"
    other.write_text("<x/>", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="format"):
        load_documents(other)
    with pytest.raises(InvalidInputError, match="not found"):
        load_documents(tmp_path / "missing.jsonl")


def test_products_load_and_validate(tmp_path: Path) -> None:
    """Products load from JSONL; a negative price is refused."""
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"id": "p1", "title": "耳机", "price": "99.5", "stock": 3}) + "\n", encoding="utf-8")
    [p] = load_products(path)
    assert p["price"] == 99.5 and p["stock"] == 3 and p["attributes"] == {}
    path.write_text(json.dumps({"id": "p1", "title": "耳机", "price": -1}) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="negative"):
        load_products(path)


def test_product_facts_one_per_attribute_without_price() -> None:
    """Each attribute and the description become a fact about the product; price and stock do not."""
    facts = product_facts({"id": "p1", "title": "声悦 耳机", "price": 199, "stock": 5,
                           "attributes": {"保修": "一年", "颜色": ["黑", "白"]}, "description": "降噪耳机"})
    by_id = {f["id"]: f for f in facts}
    assert set(by_id) == {"product:p1:保修", "product:p1:颜色", "product:p1:description"}
    assert by_id["product:p1:颜色"]["text"] == "颜色：黑、白"
    assert all(f["product_id"] == "p1" and f["kind"] == "product_fact" for f in facts)
    assert not any("199" in f["text"] for f in facts)
