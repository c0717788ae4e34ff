"""The answer path's side of knowledge gaps: which hand-offs are gaps, and a gap's written answer.

`GapDesk.observe` records a handed-off question into `knowledge.gaps.GapStore` under its key (the
frame's attribute and product when the lexicons recognise one, else the normalised wording). Only
hand-offs for want of knowledge are gaps: a question CueCard does not answer by intent, one too
long or without Chinese, or an answer stopped by a compliance rule is not something a written
FAQ closes. `GapDesk.written` gives the FAQ document written for a gap the question was asked in (same
wording, same product), so the next such question is answered from it even when retrieval alone
would not be sure enough.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from assistant.frames import attribute_of
from assistant.normalize import normalize
from knowledge.gaps import GapStore, gap_key

__all__ = ["GapDesk", "key_of", "wording_of"]
log = logging.getLogger(__name__)

# Reasons of hand-offs that are not knowledge gaps (prefixes of Answer.reason).
_NOT_GAPS = ("intent '", "the question is too long", "the question has no Chinese", "the answer still breaks",
             "a comparison needs", "the two products share")
_PUNCT = re.compile(r"[\W_]+")


def key_of(question: str, product_id: str | None) -> str:
    """The gap key of a question about a product (or none)."""
    normalized = normalize(question)
    return gap_key(wording_of(question), attribute_of(normalized), product_id)


def wording_of(question: str) -> str:
    """A question's normalised wording without punctuation ("刻字吗？" and "刻字吗" are one wording)."""
    normalized = normalize(question)
    return _PUNCT.sub("", normalized) or normalized


class GapDesk:
    """Records knowledge hand-offs as gaps and finds the answer written for a question's gap."""

    def __init__(self, gaps: GapStore) -> None:
        self.gaps = gaps
        self._version = -1
        self._written: dict[str, list[tuple[int, str, frozenset[str]]]] = {}  # wording -> (gap, doc, products)

    @staticmethod
    def is_gap(answer: Any) -> bool:
        """Whether an answer is a hand-off for want of knowledge."""
        return bool(getattr(answer, "handoff", False)) and not str(getattr(answer, "reason", "")).startswith(_NOT_GAPS)

    def observe(self, room_id: str | None, question: str, product_id: str | None, answer: Any) -> int | None:
        """Record a handed-off question into its gap; the gap id (None when not a gap or not recorded)."""
        if not self.is_gap(answer) or not question or not question.strip():
            return None
        try:
            return self.gaps.record(room_id, question, key_of(question, product_id), product_id)
        except Exception:  # a gap not recorded must never cost the viewer the answer
            log.exception("could not record a knowledge gap in room %s", room_id)
            return None

    def written(self, question: str, product_id: str | None) -> tuple[int, str] | None:
        """The (gap id, FAQ document id) written for a gap one of whose wordings this question is, or None.

        Only a wording the gap was asked in counts (not any question of its frame: "能用安卓吗" and
        "能放洗碗机吗" share a frame, not an answer), and only for one of the gap's products (any, if it
        had none). Other wordings are left to retrieval, which finds the new FAQ document like any other.
        """
        if self._version != self.gaps.version:
            version = self.gaps.version
            written: dict[str, list[tuple[int, str, frozenset[str]]]] = {}
            for gap in sorted(self.gaps.list(status="answered"), key=lambda g: -g["id"]):  # newest first
                if gap["doc_id"]:
                    for text in dict.fromkeys([gap["representative"], *gap["samples"]]):
                        written.setdefault(wording_of(text), []).append(
                            (gap["id"], gap["doc_id"], frozenset(gap["products"])))
            self._written, self._version = written, version
        for gap_id, doc_id, products in self._written.get(wording_of(question), ()):
            if not products or product_id in products:
                return gap_id, doc_id
        return None
