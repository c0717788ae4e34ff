"""Derive reviews_train.tsv: real complaint and praise language from the shared review corpus.

Usage (from the repository root; re-running rewrites the same file byte for byte):

    .venv/bin/python assistant/data/intents/derive_reviews.py [--csv PATH] [--out PATH]

Rule, so the classifier engineer can evaluate on reviews this file never saw:

* Source: ``../shared/data/reviews/online_shopping_10_cats.csv`` (columns ``cat,label,review``).
  The row index is the 0-based position of a data row after the header (the pandas index).
* Only rows with an EVEN row index are candidates; every odd row stays unseen. A review text that
  also occurs at an odd row (after whitespace/BOM clean-up) is dropped too, because the corpus holds
  duplicates and an odd-row evaluation would otherwise meet training text.
* Hotel reviews (``酒店``) are left out: rooms and front desks are not live-shopping language.
* Short and clean: 4 to 40 characters, at least two Han characters, no contrast marker
  (但/不过/就是/可惜/美中不足/除了), since mixed reviews carry both sentiments under one label.
* Label 0 -> ``complaint``, 1 -> ``praise``. For each label the candidates are shuffled with a fixed
  seed within each category and taken round-robin across categories (so phones, fruit, clothes,
  shampoo... all appear) until ``PER_LABEL`` lines are chosen.

Output lines are ``text<TAB>label``, the same format as train.tsv.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CSV = HERE.parents[2].parent / "shared" / "data" / "reviews" / "online_shopping_10_cats.csv"
DEFAULT_OUT = HERE / "reviews_train.tsv"
SEED = 20261121
PER_LABEL = 300
MIN_CHARS, MAX_CHARS = 4, 40
LABELS = {"0": "complaint", "1": "praise"}
EXCLUDED_CATEGORIES = {"酒店"}
# Contrast markers signal a mixed review ("质量不错，就是物流慢"), whose label fits only half of it.
CONTRAST = re.compile(r"但|不过|就是|可惜|美中不足|除了")
HAN = re.compile(r"[\u4e00-\u9fff]")


def clean(text: str) -> str:
    """Strip the BOM some rows start with, and collapse whitespace (tabs would break the TSV)."""
    return re.sub(r"\s+", " ", text.replace("\ufeff", "")).strip()


def read_rows(csv_path: Path) -> list[tuple[int, str, str, str]]:
    """Return (row_index, category, label, cleaned_review) for every data row of the corpus."""
    with csv_path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)  # header: cat,label,review
        return [(i, cat, label, clean(review)) for i, (cat, label, review) in enumerate(reader)]


def usable(category: str, text: str) -> bool:
    """True when a review is short, Chinese, single-sentiment live-shopping language."""
    return (
        category not in EXCLUDED_CATEGORIES
        and MIN_CHARS <= len(text) <= MAX_CHARS
        and len(HAN.findall(text)) >= 2
        and not CONTRAST.search(text)
    )


def derive(csv_path: Path, per_label: int = PER_LABEL, seed: int = SEED) -> list[tuple[int, str, str]]:
    """Choose (row_index, text, intent_label) lines from even rows only, deterministically."""
    rows = read_rows(csv_path)
    odd_texts = {text for i, _, _, text in rows if i % 2 == 1}
    # label -> category -> [(row_index, text)], first occurrence of each text only
    pools: dict[str, dict[str, list[tuple[int, str]]]] = defaultdict(lambda: defaultdict(list))
    seen: set[str] = set()
    for i, category, label, text in rows:
        if i % 2 or label not in LABELS or text in seen or text in odd_texts or not usable(category, text):
            continue
        seen.add(text)
        pools[label][category].append((i, text))

    rng = random.Random(seed)
    chosen: list[tuple[int, str, str]] = []
    for label in sorted(LABELS):
        by_cat = pools[label]
        queues = {cat: rng.sample(items, len(items)) for cat, items in sorted(by_cat.items())}
        picked: list[tuple[int, str, str]] = []
        while len(picked) < per_label and any(queues.values()):
            for cat in sorted(queues):
                if queues[cat] and len(picked) < per_label:
                    i, text = queues[cat].pop()
                    picked.append((i, text, LABELS[label]))
        chosen.extend(picked)
    return chosen


def main() -> None:
    """Write reviews_train.tsv and print how many lines each label got."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    if not args.csv.is_file():
        raise SystemExit(f"review corpus not found at {args.csv} (pass --csv)")
    lines = derive(args.csv)
    with args.out.open("w", encoding="utf-8", newline="\n") as f:
        for _, text, label in lines:
            f.write(f"{text}\t{label}\n")
    counts = {label: sum(1 for *_, lab in lines if lab == label) for label in LABELS.values()}
    print(f"wrote {len(lines)} lines to {args.out}: {counts}")


if __name__ == "__main__":
    main()
