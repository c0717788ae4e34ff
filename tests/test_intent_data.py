"""The labelled intent data: every line parses, labels are the stable set, each label is well
represented in both splits, the held-out split shares no line with training, and the review-derived
set comes from even corpus rows only."""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
from opencc import OpenCC

DATA = Path(__file__).resolve().parent.parent / "assistant" / "data" / "intents"
# The stable label set of issue 3; the files must use exactly these names.
INTENTS = frozenset(
    {"price", "promotion", "shipping", "stock", "product_info", "purchase", "after_sales",
     "complaint", "praise", "chitchat", "spam"}
)
MIN_PER_LABEL = {"train.tsv": 100, "train_more.tsv": 100, "train_extra.tsv": 100, "test.tsv": 30}
REVIEW_LABELS = {"complaint", "praise"}


def read(name: str) -> list[tuple[str, tuple[str, ...]]]:
    """Parse one file strictly: `text<TAB>label|label`, no header, no blank lines."""
    rows = []
    for n, line in enumerate((DATA / name).read_text(encoding="utf-8").split("\n")[:-1], start=1):
        parts = line.split("\t")
        assert len(parts) == 2, f"{name}:{n}: expected one tab, got {line!r}"
        text, field = parts
        assert text and text == text.strip(), f"{name}:{n}: empty or padded text {text!r}"
        labels = tuple(field.split("|"))
        assert all(labels) and len(set(labels)) == len(labels), f"{name}:{n}: bad labels {field!r}"
        rows.append((text, labels))
    return rows


def loose(text: str) -> str:
    """Whitespace- and case-insensitive form, the brief's minimum for 'the same line'."""
    return re.sub(r"\s+", " ", text).strip().casefold()


def folded(text: str, cc: OpenCC) -> str:
    """A stricter form: Simplified, half-width, punctuation and emoji gone, repeats folded."""
    text = cc.convert(unicodedata.normalize("NFKC", text)).casefold()
    text = re.sub(r"[^\w]", "", text)
    return re.sub(r"(.)\1{2,}", r"\1\1", text)


@pytest.mark.parametrize("name", ["train.tsv", "train_more.tsv", "train_extra.tsv", "test.tsv"])
def test_every_line_parses_with_known_labels(name: str) -> None:
    """Each line is text, one tab and labels from the stable set."""
    rows = read(name)
    unknown = {lab for _, labels in rows for lab in labels} - INTENTS
    assert not unknown, f"{name}: unknown labels {unknown}"


@pytest.mark.parametrize("name", ["train.tsv", "train_more.tsv", "train_extra.tsv", "test.tsv"])
def test_every_label_has_enough_examples(name: str) -> None:
    """Every intent appears on at least N lines of each split (counting secondary labels)."""
    counts = Counter(lab for _, labels in read(name) for lab in labels)
    short = {lab: counts[lab] for lab in INTENTS if counts[lab] < MIN_PER_LABEL[name]}
    assert not short, f"{name}: labels under {MIN_PER_LABEL[name]}: {short}"


def test_split_size_and_mix() -> None:
    """At least 1,500 comments, roughly 75/25, with some multi-label, Traditional and Latin lines."""
    train, test = read("train.tsv"), read("test.tsv")
    assert len(train) + len(test) >= 1500
    assert 0.2 <= len(test) / (len(train) + len(test)) <= 0.3
    cc = OpenCC("t2s")
    for name, rows in (("train", train), ("test", test)):
        multi = sum(len(labels) > 1 for _, labels in rows) / len(rows)
        traditional = sum(cc.convert(t) != t for t, _ in rows) / len(rows)
        latin = sum(bool(re.search(r"[A-Za-z]{2,}", t)) for t, _ in rows) / len(rows)
        assert 0.07 <= multi <= 0.15, f"{name}: multi-label share {multi:.2f}"
        assert traditional >= 0.03, f"{name}: Traditional share {traditional:.2f}"
        assert latin >= 0.05, f"{name}: Latin-script share {latin:.2f}"


@pytest.mark.parametrize("name", ["train.tsv", "train_more.tsv", "train_extra.tsv", "test.tsv"])
def test_no_duplicate_lines_within_a_split(name: str) -> None:
    """No line is written twice in the same file (whitespace and case ignored)."""
    dupes = [t for t, c in Counter(loose(t) for t, _ in read(name)).items() if c > 1]
    assert not dupes, f"{name}: duplicated lines {dupes}"


def test_held_out_lines_are_not_in_train() -> None:
    """No test line equals a train line, loosely or after script/punctuation/repeat folding."""
    cc = OpenCC("t2s")
    train = read("train.tsv")
    train_loose = {loose(t) for t, _ in train}
    # Emoji-only lines fold to nothing, so the strict check only compares lines with some text left.
    train_folded = {f for t, _ in train if len(f := folded(t, cc)) >= 2}
    for text, _ in read("test.tsv"):
        assert loose(text) not in train_loose, f"test line also in train: {text!r}"
        assert folded(text, cc) not in train_folded, f"test line is a trivial edit of a train line: {text!r}"


# Each later hand-written training pass and the files written before it.
LATER_PASSES = [("train_more.tsv", ["train.tsv"]), ("train_extra.tsv", ["train.tsv", "train_more.tsv"])]


def folded_sets(rows: list[tuple[str, tuple[str, ...]]], cc: OpenCC) -> tuple[set[str], set[str]]:
    """The loose and the folded forms of some rows' texts (folded forms of under 2 chars left out)."""
    return {loose(t) for t, _ in rows}, {f for t, _ in rows if len(f := folded(t, cc)) >= 2}


@pytest.mark.parametrize(("name", "earlier_files"), LATER_PASSES)
def test_later_pass_adds_new_varied_lines(name: str, earlier_files: list[str]) -> None:
    """A later training pass repeats no earlier training line, loosely or after folding, and keeps the
    same mix of multi-label, Traditional and Latin-script lines."""
    cc = OpenCC("t2s")
    earlier_loose, earlier_folded = folded_sets([row for f in earlier_files for row in read(f)], cc)
    rows = read(name)
    assert len(rows) >= 1500
    repeated = [t for t, _ in rows if loose(t) in earlier_loose or folded(t, cc) in earlier_folded]
    assert not repeated, f"{name} repeats earlier training lines: {repeated}"
    multi = sum(len(labels) > 1 for _, labels in rows) / len(rows)
    traditional = sum(cc.convert(t) != t for t, _ in rows) / len(rows)
    latin = sum(bool(re.search(r"[A-Za-z]{2,}", t)) for t, _ in rows) / len(rows)
    assert 0.07 <= multi <= 0.15 and traditional >= 0.03 and latin >= 0.05, (multi, traditional, latin)


@pytest.mark.parametrize("name", [name for name, _ in LATER_PASSES])
def test_held_out_lines_are_not_in_later_passes(name: str) -> None:
    """No test line is in a later training pass. The message gives only a count: the people who
    write training lines must not read held-out ones, so a failure names no test text."""
    cc = OpenCC("t2s")
    pass_loose, pass_folded = folded_sets(read(name), cc)
    overlap = sum(loose(t) in pass_loose or folded(t, cc) in pass_folded for t, _ in read("test.tsv"))
    assert overlap == 0, f"{overlap} test line(s) also occur in {name} (texts withheld)"


def test_reviews_file_is_balanced_short_and_labelled() -> None:
    """reviews_train.tsv holds ~300 short complaint and ~300 short praise lines, no repeats."""
    rows = read("reviews_train.tsv")
    counts = Counter(labels for _, labels in rows)
    assert set(counts) == {("complaint",), ("praise",)}
    assert all(280 <= c <= 320 for c in counts.values()), counts
    assert all(len(t) <= 40 for t, _ in rows)
    assert len({t for t, _ in rows}) == len(rows)


def load_deriver() -> ModuleType:
    """Import derive_reviews.py from the data folder (it is a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("derive_reviews", DATA / "derive_reviews.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reviews_file_rederives_from_even_rows_only(shared_data: Path) -> None:
    """Re-running the seeded derivation gives the committed file, every line from an even row,
    and no chosen text occurs at an odd row (which stay free for evaluation)."""
    deriver = load_deriver()
    csv_path = shared_data / "reviews" / "online_shopping_10_cats.csv"
    chosen = deriver.derive(csv_path)
    assert [(t, (lab,)) for _, t, lab in chosen] == read("reviews_train.tsv")
    assert all(i % 2 == 0 for i, _, _ in chosen)
    rows = deriver.read_rows(csv_path)
    odd = {text for i, _, _, text in rows if i % 2}
    assert not odd & {t for _, t, _ in chosen}
    # Labels follow the corpus: 0 -> complaint, 1 -> praise.
    corpus_label = {i: label for i, _, label, _ in rows}
    assert all(deriver.LABELS[corpus_label[i]] == lab for i, _, lab in chosen)
