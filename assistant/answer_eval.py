"""Answer evaluation and reranker training on sets whose answers are known.

Queries are `{"query", "expected_ids", "product_id"?}` (the `kb eval` format) and unanswerable
questions `{"query", "product_id"?}`. An answer is right when its first source is an expected id;
an unanswerable question should be handed off. Three methods side by side in one run: the
production answerer (`cuecard`: frames, reranker, calibrated threshold), "always send the top hit",
and today's rescaled-score threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.answers import Answerer
from assistant.compliance import ComplianceChecker
from assistant.frames import attribute_of
from assistant.normalize import normalize
from assistant.ranking import Example, Ranker, candidates, ece, fit
from knowledge.documents import read_jsonl
from knowledge.errors import InvalidInputError, NotFoundError
from knowledge.kb import KnowledgeBase

__all__ = ["evaluate", "examples", "load_unanswerable", "train"]


def load_unanswerable(path: Any) -> list[dict[str, Any]]:
    """Unanswerable questions from JSONL, or InvalidInputError naming the bad line."""
    out = []
    for n, row in enumerate(read_jsonl(path), 1):
        text = str(row.get("query") or "").strip()
        if not text:
            raise InvalidInputError(f"unanswerable #{n}: needs a non-empty 'query'")
        out.append({"query": text, "product_id": row.get("product_id") or None})
    return out


def examples(kb: KnowledgeBase, queries: Sequence[dict[str, Any]], unanswerable: Sequence[dict[str, Any]],
             shop: str = "") -> list[Example]:
    """Reranker examples: each question's candidates (top 5 documents, sentences, product fields)."""
    out = []
    for q, expected in [(q, set(q["expected_ids"])) for q in queries] + [(u, set()) for u in unanswerable]:
        pid = q.get("product_id")
        product = kb.store.get_product(pid) if pid else None
        hits = kb.search(q["query"], k=5, product_id=pid)
        about = product or (_product(kb, hits[0].product_id) if hits and hits[0].product_id else None)
        group = pid or next((e.split(":")[1] if e.startswith("product:") else e.split("-")[0]
                             for e in sorted(expected)), "none")
        named = frozenset([pid]) if pid else frozenset(kb.mentioned_products(q["query"]))
        out.append(Example(q["query"], attribute_of(normalize(q["query"])), named, candidates(hits, about),
                           expected, f"{shop}:{group}"))
    return out


def _product(kb: KnowledgeBase, pid: str) -> dict[str, Any] | None:
    try:
        return kb.store.get_product(pid)
    except NotFoundError:
        return None


def train(sets: Sequence[tuple[KnowledgeBase, Sequence[dict[str, Any]], Sequence[dict[str, Any]], str]],
          target_precision: float = 0.95) -> tuple[Ranker, dict[str, Any]]:
    """Fit the reranker on the union of (kb, queries, unanswerable, shop) training sets."""
    exs = [e for kb, qs, us, shop in sets for e in examples(kb, qs, us, shop)]
    return fit(exs, target_precision)


def evaluate(kb: KnowledgeBase, ranker: Ranker, queries: Sequence[dict[str, Any]],
             unanswerable: Sequence[dict[str, Any]], min_confidence: float = 0.45) -> dict[str, dict[str, Any]]:
    """answered, precision, right, unanswerable_handoff and ECE (+ reliability table) per method."""
    checker = ComplianceChecker.default()
    methods = {
        "cuecard": Answerer(kb, kb.store, checker, ranker=ranker),
        "top_hit": Answerer(kb, kb.store, checker, min_confidence=0.0),
        "score_threshold": Answerer(kb, kb.store, checker, min_confidence=min_confidence),
    }
    out: dict[str, dict[str, Any]] = {}
    for name, answerer in methods.items():
        answered = right = handed = 0
        pairs: list[tuple[float, int]] = []
        for q in queries:
            a = answerer.answer(q["query"], product_id=q.get("product_id"), intent="product_info")
            picked = int(bool(a.sources) and a.sources[0] in q["expected_ids"])
            ok = int(not a.handoff and picked)
            answered += not a.handoff
            right += ok
            # Calibration is of the pick itself: would the answer (sent or held back) have been right?
            pairs.append((a.confidence, picked))
        for u in unanswerable:
            a = answerer.answer(u["query"], product_id=u.get("product_id"), intent="product_info")
            handed += a.handoff
            pairs.append((a.confidence, 0))
        error, table = ece(pairs)
        out[name] = {"answered": round(answered / max(len(queries), 1), 4),
                     "precision": round(right / max(answered, 1), 4),
                     "right": round(right / max(len(queries), 1), 4),
                     "unanswerable_handoff": round(handed / max(len(unanswerable), 1), 4) if unanswerable else None,
                     "ece": error, "reliability": table}
    return out
