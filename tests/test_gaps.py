"""Knowledge gaps: handed-off questions grouped per room by frame, answered once into an FAQ document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from knowledge.errors import ConflictError, InvalidInputError, NotFoundError
from knowledge.gaps import GapStore, gap_key
from knowledge.store import Store


class FakeKB:
    """Records the documents it is given."""

    def __init__(self) -> None:
        self.docs: list[dict[str, Any]] = []

    def add(self, doc: dict[str, Any]) -> dict[str, Any]:
        self.docs.append(doc)
        return doc


def test_same_frame_joins_one_gap_and_answering_stores_an_faq(tmp_path: Path) -> None:
    """Two wordings of one framed question are one gap of count 2; answering makes an FAQ for its product;
    a second answer is a conflict, an unknown gap not found, an empty answer invalid."""
    gaps = GapStore(Store(f"sqlite:///{tmp_path / 'g.db'}"))
    key = gap_key("水壶能保温吗", "compatibility", "p1")
    a = gaps.record("r1", "水壶能保温吗", key, "p1", ts=1)
    b = gaps.record("r1", "热水壶可以保温不", key, "p1", ts=5)
    c = gaps.record("r1", "主播几点下播", gap_key("主播几点下播", None, None), ts=6)
    assert a == b != c
    listed = gaps.list("r1")
    assert [(g["id"], g["count"]) for g in listed] == [(a, 2), (c, 1)]
    assert listed[0]["samples"] == ["水壶能保温吗", "热水壶可以保温不"] and listed[0]["products"] == ["p1"]
    assert (listed[0]["first_ts"], listed[0]["last_ts"]) == (1, 5)
    kb = FakeKB()
    with pytest.raises(InvalidInputError):
        gaps.answer(a, "  ", kb)
    done = gaps.answer(a, "可以保温2小时。", kb)
    assert done["status"] == "answered" and kb.docs[0]["id"] == f"gap-{a}" and kb.docs[0]["product_id"] == "p1"
    with pytest.raises(ConflictError):
        gaps.answer(a, "再答一次", kb)
    with pytest.raises(NotFoundError):
        gaps.answer(9999, "没有这个", kb)
    assert [g["id"] for g in gaps.list("r1")] == [c]
