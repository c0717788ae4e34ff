"""The answer path's side of knowledge gaps: which hand-offs are gaps, and a gap's written answer.

`GapDesk.observe` records a handed-off question into `knowledge.gaps.GapStore` under its key (the
frame's attribute and product when the lexicons recognise one, else the normalised wording). Only
hand-offs for want of knowledge are gaps: a question CueCard does not answer by intent, one too
long or without Chinese, or an answer stopped by a compliance rule is not something a written
FAQ closes. `GapDesk.written` gives the FAQ document written for the same key, so the next
matching question is answered from it even when retrieval alone would not be sure enough.
"""

from __future__ import annotations

import re
from typing import Any

from assistant.frames import attribute_of
from assistant.normalize import normalize
from knowledge.gaps import GapStore, gap_key

__all__ = ["GapDesk", "key_of"]

# Reasons of hand-offs that are not knowledge gaps (prefixes of Answer.reason).
_NOT_GAPS = ("intent '", "the question is too long", "the question has no Chinese", "the answer still breaks",
             "a comparison needs", "the two products share")
_PUNCT = re.compile(r"[\W_]+")


def key_of(question: str, product_id: str | None) -> str:
    """The gap key of a question about a product (or none)."""
    normalized = normalize(question)
    wording = _PUNCT.sub("", normalized) or normalized  # "刻字吗？" and "刻字吗" are one wording
    return gap_key(wording, attribute_of(normalized), product_id)


class GapDesk:
    """Records knowledge hand-offs as gaps and finds the answer written for a question's gap."""

    def __init__(self, gaps: GapStore) -> None:
        self.gaps = gaps

    @staticmethod
    def is_gap(answer: Any) -> bool:
        """Whether an answer is a hand-off for want of knowledge."""
        return bool(getattr(answer, "handoff", False)) and not str(getattr(answer, "reason", "")).startswith(_NOT_GAPS)

    def observe(self, room_id: str | None, question: str, product_id: str | None, answer: Any) -> int | None:
        """Record a handed-off question into its gap; returns the gap id (None when it is not a gap)."""
        if not self.is_gap(answer) or not question or not question.strip():
            return None
        return self.gaps.record(room_id, question, key_of(question, product_id), product_id)

    def written(self, question: str, product_id: str | None) -> tuple[int, str] | None:
        """The (gap id, FAQ document id) written for this question's gap, or None."""
        return self.gaps.written(key_of(question, product_id))
