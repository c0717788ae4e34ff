"""Derive the shipped sentiment scorer (`sentiment.npz` + `meta.json`) from the shared review corpus.

Usage (from the repository root; deterministic, so a re-run writes the same weights):

    OPENBLAS_NUM_THREADS=1 .venv/bin/python assistant/data/sentiment/derive.py [--csv PATH] [--out DIR]

Rule (the same split as `assistant/data/intents/derive_reviews.py`, so odd rows stay unseen):

* Source: ``../shared/data/reviews/online_shopping_10_cats.csv`` (columns ``cat,label,review``; a
  leading BOM in a review is stripped). The row index is the 0-based position of a data row after
  the header.
* Train on rows with an EVEN row index only, leaving out hotel reviews (``酒店``); label 1 = positive.
* Text: ``assistant.normalize.normalize(review)[:200]``, hashed character 1-3-grams
  (``assistant.sentiment.hashed``: 2**16 features, l2 norm, no sign alternation).
* Model: ``LogisticRegression(C=4, max_iter=1000)`` (lbfgs, deterministic). Weights stored float16.
* Reported: accuracy on ALL odd rows (and without hotels) using the float16 weights as shipped.

The repo ships only these derived weights, never review text.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from assistant.normalize import normalize  # noqa: E402
from assistant.sentiment import FORMAT, N_FEATURES, NGRAMS, hashed  # noqa: E402

DEFAULT_CSV = HERE.parents[2].parent / "shared" / "data" / "reviews" / "online_shopping_10_cats.csv"
C = 4.0
MAX_CHARS = 200
EXCLUDED_CATEGORIES = {"酒店"}


def read_rows(path: Path) -> list[tuple[int, str, int, str]]:
    """(row index, category, label, normalised text) for every data row with text."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for i, r in enumerate(rows):
        text = normalize((r["review"] or "").lstrip("\ufeff").strip())[:MAX_CHARS]
        if text:
            out.append((i, r["cat"], int(r["label"]), text))
    return out


def main() -> None:
    """Fit on even rows, measure on odd rows, write the artefact."""
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    if not args.csv.is_file():
        sys.exit(f"review corpus not found at {args.csv}")
    rows = read_rows(args.csv)
    train = [r for r in rows if r[0] % 2 == 0 and r[1] not in EXCLUDED_CATEGORIES]
    odd = [r for r in rows if r[0] % 2 == 1]
    print(f"training on {len(train)} even rows, evaluating on {len(odd)} odd rows", file=sys.stderr)
    model = LogisticRegression(C=C, max_iter=1000)
    model.fit(hashed([r[3] for r in train]), np.array([r[2] for r in train]))
    weights = model.coef_[0].astype(np.float16)
    bias = np.float32(model.intercept_[0])
    scores = hashed([r[3] for r in odd]) @ weights.astype(np.float32) + bias
    right = (scores > 0) == np.array([r[2] == 1 for r in odd])
    not_hotel = np.array([r[1] not in EXCLUDED_CATEGORIES for r in odd])
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / "sentiment.npz", weights=weights, bias=bias)
    meta = {
        "format": FORMAT,
        "version": "reviews-even-" + hashlib.sha256(weights.tobytes() + bias.tobytes()).hexdigest()[:12],
        "n_features": N_FEATURES, "ngram_range": list(NGRAMS), "analyzer": "char", "norm": "l2",
        "alternate_sign": False, "text": f"assistant.normalize.normalize(review)[:{MAX_CHARS}]",
        "dtype": "float16", "model": f"LogisticRegression(C={C:g}, max_iter=1000)",
        "training_rule": "online_shopping_10_cats.csv data rows with EVEN 0-based index, category 酒店 "
                         "left out, label 1 = positive; odd rows are never trained on",
        "n_train": len(train),
        "odd_row_accuracy": round(float(right.mean()), 4),
        "odd_row_accuracy_without_hotels": round(float(right[not_hotel].mean()), 4),
        "n_odd": len(odd),
    }
    (args.out / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(meta, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
