"""Knowledge documents: the four kinds, validation, and import from JSONL, CSV and Markdown.

A document is a plain dict (`id`, `kind`, `product_id` or None, `title`, `text`, `tags`), the
same shape `Store.upsert_documents` takes and returns. Products' attributes, description and
selling points also become searchable `product_fact` documents (`product_facts`); they are
derived from the product row on every change, never stored as documents of their own, so they
cannot go stale.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from knowledge.errors import InvalidInputError

KINDS = ("product_fact", "faq", "policy", "talking_point")
FACT_PREFIX = "product:"  # ids of documents derived from product rows: "product:p001:保修"
MAX_TEXT = 4000

_ID_RE = re.compile(r"^[\w.:#\-/@\u4e00-\u9fff]{1,128}$")


def validate_document(raw: dict[str, Any], *, where: str = "") -> dict[str, Any]:
    """A clean document dict from raw input, or InvalidInputError saying what is wrong and where."""
    at = f" ({where})" if where else ""
    if not isinstance(raw, dict):
        raise InvalidInputError(f"a document must be an object, got {type(raw).__name__}{at}")
    doc_id = str(raw.get("id") or "").strip()
    if not doc_id:
        raise InvalidInputError(f"a document needs an 'id'{at}")
    if not _ID_RE.match(doc_id):
        raise InvalidInputError(f"document id {doc_id!r} has characters outside letters, digits and ._:#-/@{at}")
    if doc_id.startswith(FACT_PREFIX):
        raise InvalidInputError(f"document ids starting with {FACT_PREFIX!r} are reserved for product facts{at}")
    kind = str(raw.get("kind") or "").strip()
    if kind not in KINDS:
        raise InvalidInputError(f"document {doc_id!r} has kind {kind!r}; expected one of {', '.join(KINDS)}{at}")
    text = str(raw.get("text") or "").strip()
    if not text:
        raise InvalidInputError(f"document {doc_id!r} has an empty 'text'{at}")
    if len(text) > MAX_TEXT:
        raise InvalidInputError(f"document {doc_id!r} is {len(text)} characters; the limit is {MAX_TEXT}{at}")
    tags = raw.get("tags") or []
    if isinstance(tags, str):  # CSV and Markdown give "a,b" or "a|b"
        tags = [t for t in re.split(r"[,|，、;]\s*", tags) if t.strip()]
    if not isinstance(tags, list):
        raise InvalidInputError(f"document {doc_id!r}: 'tags' must be a list of strings{at}")
    product_id = raw.get("product_id")
    product_id = str(product_id).strip() if product_id not in (None, "", "null", "None") else None
    return {"id": doc_id, "kind": kind, "product_id": product_id,
            "title": str(raw.get("title") or "").strip(), "text": text,
            "tags": [str(t).strip() for t in tags if str(t).strip()]}


def _check_unique(items: list[dict[str, Any]], path: Path, what: str = "document") -> list[dict[str, Any]]:
    seen: set[str] = set()
    for item in items:
        if item["id"] in seen:
            raise InvalidInputError(f"{path.name}: {what} id {item['id']!r} appears twice")
        seen.add(item["id"])
    return items


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The objects of a JSONL file (blank lines skipped), or InvalidInputError naming the bad line."""
    if not path.is_file():
        raise InvalidInputError(f"file not found: {path}")
    out = []
    with path.open(encoding="utf-8-sig") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInputError(f"{path.name} line {n}: not valid JSON ({exc.msg})") from exc
            if not isinstance(obj, dict):
                raise InvalidInputError(f"{path.name} line {n}: expected an object, got {type(obj).__name__}")
            out.append(obj)
    return out


def load_documents_jsonl(path: Path) -> list[dict[str, Any]]:
    """Documents from a JSONL file, one object a line."""
    docs = [validate_document(obj, where=f"{path.name} line {n}") for n, obj in enumerate(read_jsonl(path), 1)]
    return _check_unique(docs, path)


def load_documents_csv(path: Path) -> list[dict[str, Any]]:
    """Documents from a CSV file with a header row naming at least `id`, `kind` and `text`."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"id", "kind", "text"} - set(reader.fieldnames or [])
        if missing:
            raise InvalidInputError(f"{path.name}: the header lacks column(s) {sorted(missing)}")
        docs = [validate_document(row, where=f"{path.name} row {n}") for n, row in enumerate(reader, 2)]
    return _check_unique(docs, path)


_META_RE = re.compile(r"^(id|kind|product_id|tags)\s*[:：]\s*(.*)$")


def parse_markdown(text: str, *, default_kind: str = "faq", stem: str = "doc") -> list[dict[str, Any]]:
    """One document a `##` section: the heading is the title; leading `id:`/`kind:`/`product_id:`/`tags:` lines set fields."""
    docs: list[dict[str, Any]] = []
    sections = re.split(r"(?m)^##(?!#)\s*", text)
    for n, section in enumerate(sections[1:], 1):  # what precedes the first ## is a preamble
        title, _, body = section.partition("\n")
        fields: dict[str, Any] = {"title": title.strip(), "kind": default_kind}
        lines = body.strip().splitlines()
        while lines and (m := _META_RE.match(lines[0].strip())):
            fields[m.group(1)] = m.group(2).strip()
            lines.pop(0)
        fields["text"] = "\n".join(lines).strip()
        fields.setdefault("id", f"{stem}-{n}")
        docs.append(validate_document(fields, where=f"section {n} {fields['title']!r}"))
    return docs


def load_documents_markdown(path: Path, default_kind: str = "faq") -> list[dict[str, Any]]:
    """Documents from a Markdown file, one `##` section a document."""
    docs = parse_markdown(path.read_text(encoding="utf-8-sig"), default_kind=default_kind, stem=path.stem)
    if not docs:
        raise InvalidInputError(f"{path.name}: no '## ' section found; each document starts with a '## title' line")
    return _check_unique(docs, path)


def load_documents(path: Path | str, default_kind: str = "faq") -> list[dict[str, Any]]:
    """Documents from a `.jsonl`, `.csv` or `.md` file, validated, ids unique."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return load_documents_jsonl(path)
    if suffix == ".csv":
        return load_documents_csv(path)
    if suffix in (".md", ".markdown"):
        return load_documents_markdown(path, default_kind)
    raise InvalidInputError(f"{path.name}: unknown document format {suffix!r}; use .jsonl, .csv or .md")


# ---- products ----

def validate_product(raw: dict[str, Any], *, where: str = "") -> dict[str, Any]:
    """A clean product dict (`id`, `title`, `category`, `price`, `stock`, `attributes`, `description`…)."""
    at = f" ({where})" if where else ""
    if not isinstance(raw, dict):
        raise InvalidInputError(f"a product must be an object{at}")
    pid = str(raw.get("id") or "").strip()
    title = str(raw.get("title") or "").strip()
    if not pid or not title:
        raise InvalidInputError(f"a product needs an 'id' and a 'title'{at}")
    if not _ID_RE.match(pid):
        raise InvalidInputError(f"product id {pid!r} has characters outside letters, digits and ._:#-/@{at}")
    try:
        price = float(raw.get("price") or 0.0)
        stock = int(raw.get("stock") or 0)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"product {pid!r}: 'price' must be a number and 'stock' an integer{at}") from exc
    if price < 0 or stock < 0:
        raise InvalidInputError(f"product {pid!r}: price and stock cannot be negative{at}")
    attributes = raw.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise InvalidInputError(f"product {pid!r}: 'attributes' must be an object{at}")
    out = dict(raw)
    out.update(id=pid, title=title, price=price, stock=stock, attributes=attributes,
               category=str(raw.get("category") or ""), brand=str(raw.get("brand") or ""),
               description=str(raw.get("description") or ""))
    return out


def load_products(path: Path | str) -> list[dict[str, Any]]:
    """Products from a JSONL file, one object a line, validated, ids unique."""
    path = Path(path)
    items = [validate_product(obj, where=f"{path.name} line {n}") for n, obj in enumerate(read_jsonl(path), 1)]
    return _check_unique(items, path, "product")


def _value_text(value: Any) -> str:
    if isinstance(value, dict):
        return "；".join(f"{k}：{_value_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "、".join(_value_text(v) for v in value)
    return str(value)


def product_facts(product: dict[str, Any]) -> list[dict[str, Any]]:
    """The searchable facts a product row carries: one per attribute, and its description.

    Price and stock are left out on purpose: they change during a stream, so answers read them
    live from the store instead of from an indexed text.
    """
    pid, title = product["id"], product["title"]
    facts = []
    for key, value in (product.get("attributes") or {}).items():
        text = _value_text(value).strip()
        if text:
            facts.append({"id": f"{FACT_PREFIX}{pid}:{key}", "kind": "product_fact", "product_id": pid,
                          "title": f"{title} {key}", "text": f"{key}：{text}", "tags": ["attribute", str(key)]})
    if str(product.get("description") or "").strip():
        facts.append({"id": f"{FACT_PREFIX}{pid}:description", "kind": "product_fact", "product_id": pid,
                      "title": title, "text": str(product["description"]).strip(), "tags": ["description"]})
    return facts
