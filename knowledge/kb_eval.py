"""Retrieval evaluation: recall@1/3/5 and MRR for dense-only, lexical-only and fused rankings.

The knowledge base under test is a throw-away one (a temporary store and index directory), so
evaluating never touches the shop's own data. Queries are `{"query", "expected_ids", "product_id"?}`;
a query counts as found at rank r when any of its expected ids is there (MRR uses the first).
`atec_pairs` turns the ATEC paraphrase pairs into documents and queries of the same form.
"""

from __future__ import annotations

import csv
import random
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from knowledge.documents import read_jsonl
from knowledge.embedder import Embedder
from knowledge.errors import InvalidInputError
from knowledge.kb import MODES, KnowledgeBase
from knowledge.store import Store

CUTOFFS = (1, 3, 5)


def validate_queries(raw: Sequence[dict[str, Any]], where: str = "queries") -> list[dict[str, Any]]:
    """Clean evaluation queries, or InvalidInputError naming the bad one."""
    out = []
    for n, q in enumerate(raw, 1):
        text = str(q.get("query") or "").strip()
        expected = q.get("expected_ids")
        if not text or not isinstance(expected, list) or not expected:
            raise InvalidInputError(f"{where} #{n}: needs a non-empty 'query' and a non-empty 'expected_ids' list")
        out.append({"query": text, "expected_ids": [str(e) for e in expected],
                    "product_id": q.get("product_id") or None})
    if not out:
        raise InvalidInputError(f"{where}: no queries")
    return out


def load_queries(path: Path | str) -> list[dict[str, Any]]:
    """Evaluation queries from a JSONL file."""
    path = Path(path)
    return validate_queries(read_jsonl(path), where=path.name)


def metrics(rankings: Sequence[Sequence[str]], expected: Sequence[Sequence[str]]) -> dict[str, float]:
    """recall@1/3/5 and MRR (over the top 10) of ranked id lists against the expected ids."""
    n = len(rankings)
    found = {c: 0 for c in CUTOFFS}
    rr = 0.0
    for ranked, want in zip(rankings, expected, strict=True):
        want_set = set(want)
        first = next((i for i, doc_id in enumerate(ranked[:10]) if doc_id in want_set), None)
        if first is None:
            continue
        rr += 1.0 / (first + 1)
        for c in CUTOFFS:
            found[c] += first < c
    out = {f"recall@{c}": round(found[c] / n, 4) for c in CUTOFFS}
    out["mrr"] = round(rr / n, 4)
    out["queries"] = n
    return out


def evaluate(kb: KnowledgeBase, queries: Sequence[dict[str, Any]], modes: Sequence[str] = MODES,
             progress: Callable[[int], None] | None = None) -> dict[str, dict[str, float]]:
    """Each mode's figures on the queries (scoped to a query's `product_id` when it names one)."""
    rankings: dict[str, list[list[str]]] = {m: [] for m in modes}
    vectors = kb.embedder.encode([q["query"] for q in queries])  # one batch, shared by every mode
    for q, vector in zip(queries, vectors, strict=True):
        for mode in modes:
            hits = kb.search(q["query"], k=10, product_id=q.get("product_id"), mode=mode, vector=vector)
            rankings[mode].append([h.doc_id for h in hits])
        if progress:
            progress(1)
    expected = [q["expected_ids"] for q in queries]
    return {mode: metrics(rankings[mode], expected) for mode in modes}


@contextmanager
def throwaway_kb(embedder: Embedder, docs: Sequence[dict[str, Any]],
                 products: Sequence[dict[str, Any]] = (), **kb_options: Any) -> Iterator[KnowledgeBase]:
    """A knowledge base over a temporary store and index directory, deleted on exit."""
    with tempfile.TemporaryDirectory(prefix="cuecard-kb-eval-") as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'eval.db'}")
        try:
            kb = KnowledgeBase(store, embedder, Path(tmp) / "index", **kb_options)
            if products:
                kb.upsert_products(products)
            kb.add_many(docs)
            yield kb
        finally:
            store.close()


def atec_pairs(path: Path | str, limit: int | None = None, seed: int = 0
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Documents and queries from ATEC pairs: per label-1 pair, q1 is a document and q2 a query.

    Identical q1 texts share one document; a query whose text equals its document's is dropped
    (it would test string equality, not paraphrase). `limit` samples that many pairs at random.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"ATEC file not found: {path}")
    pairs = []
    with path.open(encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if len(row) == 4 and row[3].strip() == "1" and row[1].strip() and row[2].strip():
                pairs.append((row[1].strip(), row[2].strip()))
    if limit is not None and limit < len(pairs):
        pairs = random.Random(seed).sample(pairs, limit)
    doc_ids: dict[str, str] = {}
    queries: list[dict[str, Any]] = []
    for q1, q2 in pairs:
        if q1 == q2:
            continue
        doc_id = doc_ids.setdefault(q1, f"atec-{len(doc_ids) + 1}")
        queries.append({"query": q2, "expected_ids": [doc_id], "product_id": None})
    docs = [{"id": i, "kind": "faq", "product_id": None, "title": "", "text": t} for t, i in doc_ids.items()]
    # A query text that is also a document text is answered by that document too.
    for q in queries:
        same = doc_ids.get(q["query"])
        if same and same not in q["expected_ids"]:
            q["expected_ids"].append(same)
    return docs, queries
