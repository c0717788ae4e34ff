"""Labelled comment files (`text<TAB>label|label`) and the metrics an intent model is judged by.

Evaluation follows the label file's contract: a comment may carry several right labels and the
model's top intent is right when it is any of them. For per-label precision, recall and the
confusion matrix, a right answer counts as that label and a wrong one as the first listed label.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import LabelledDataError

DATA_DIR = Path(__file__).resolve().parent / "data" / "intents"
# What the default model learns from (never test.tsv), and which labels each file speaks for: the
# reviews are labelled complaint or praise only, so they say nothing about the other labels (a defect
# report is `complaint` in a review but `after_sales` in a live room) and train only those two heads.
TRAIN_FILES: dict[str, tuple[str, ...] | None] = {"train.tsv": None,
                                                  "train_more.tsv": None,
                                                  "train_extra.tsv": None,
                                                  "train_hard.tsv": None,
                                                  "reviews_train.tsv": ("complaint", "praise")}
TEST_FILE = "test.tsv"
_LABEL_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class Example:
    """One labelled comment: its text, every label that counts as right, and which labels it informs."""

    text: str
    labels: tuple[str, ...]
    scope: tuple[str, ...] | None = None  # None: a negative for every other label too


def parse_labels(field: str, where: str) -> tuple[str, ...]:
    """Split `a|b` into labels; each must be a lower-case identifier."""
    labels = tuple(dict.fromkeys(lab.strip().lower() for lab in field.split("|") if lab.strip()))
    if not labels:
        raise LabelledDataError(f"{where}: no label after the tab")
    for lab in labels:
        if not set(lab) <= _LABEL_CHARS or len(lab) > 40:
            raise LabelledDataError(f"{where}: label {lab!r} must be lower-case letters, digits or '_'")
    return labels


def read_examples(path: Path, known: Iterable[str] | None = None,
                  scope: tuple[str, ...] | None = None) -> list[Example]:
    """Read a `text<TAB>label|label` file; LabelledDataError names the line of any problem.

    Blank lines and lines starting with `#` are skipped. With `known`, labels outside it are refused.
    With `scope`, the examples train only those labels' scorers.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LabelledDataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabelledDataError(f"{path} is not UTF-8 text (byte {exc.start})") from exc
    allowed = set(known) if known is not None else None
    out: list[Example] = []
    for n, line in enumerate(content.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        where = f"{path.name} line {n}"
        text, sep, field = line.rpartition("\t")
        if not sep or not text.strip():
            raise LabelledDataError(f"{where}: expected `text<TAB>label`, got {line[:60]!r}")
        labels = parse_labels(field, where)
        if allowed is not None and not set(labels) <= allowed:
            raise LabelledDataError(f"{where}: unknown label(s) {sorted(set(labels) - allowed)}; "
                                    f"known: {sorted(allowed)}")
        out.append(Example(text.strip(), labels, scope))
    if not out:
        raise LabelledDataError(f"{path} holds no labelled lines (`text<TAB>label`)")
    return out


def default_training_files() -> list[Path]:
    """The repo's training files that exist (the held-out test file is never among them)."""
    return [DATA_DIR / name for name in TRAIN_FILES if (DATA_DIR / name).is_file()]


def default_examples() -> list[Example]:
    """Every example of the repo's training files, each with its file's scope."""
    return [ex for path in default_training_files() for ex in read_examples(path, scope=TRAIN_FILES[path.name])]


def evaluate(gold: Sequence[Sequence[str]], predicted: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-label precision/recall/F1/support and a confusion matrix (rows = truth)."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    names = list(dict.fromkeys([*labels, *(g for gs in gold for g in gs), *predicted]))
    index = {lab: i for i, lab in enumerate(names)}
    confusion = [[0] * len(names) for _ in names]
    correct = 0
    for gs, p in zip(gold, predicted, strict=True):
        truth = p if p in gs else gs[0]
        correct += truth == p
        confusion[index[truth]][index[p]] += 1
    per_label: dict[str, dict[str, float]] = {}
    f1s = []
    for lab, i in index.items():
        tp = confusion[i][i]
        support = sum(confusion[i])
        pred_n = sum(row[i] for row in confusion)
        if support == 0 and pred_n == 0:
            continue
        precision = tp / pred_n if pred_n else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[lab] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                          "support": support}
        if support:  # a label absent from the truth would only punish a stray prediction twice
            f1s.append(f1)
    present = [lab for lab in names if lab in per_label]
    return {
        "n": len(gold),
        "accuracy": round(correct / len(gold), 4) if gold else 0.0,
        "macro_f1": round(sum(f1s) / len(f1s), 4) if f1s else 0.0,
        "per_label": per_label,
        "labels": present,
        "confusion": [[confusion[index[a]][index[b]] for b in present] for a in present],
    }
