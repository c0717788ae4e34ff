"""Question groups: same intent and meaning join one group inside a sliding window per room."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.groups import QuestionGroups


def unit(*values: float) -> np.ndarray:
    """A unit vector from a few leading components (the rest zero)."""
    v = np.zeros(8, dtype=np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


XINJIANG = unit(1, 0.1)
XINJIANG_2 = unit(1, 0.2)  # a paraphrase: cosine ≈ 0.995 with XINJIANG
COURIER = unit(0, 1)  # another shipping question: orthogonal


def test_paraphrases_join_one_group_and_others_start_their_own() -> None:
    """Two paraphrases share a group; an unrelated question of the same intent does not."""
    g = QuestionGroups(window_s=120, similarity=0.8)
    a = g.add("r", "shipping", "新疆能发吗", XINJIANG, ts=1)
    b = g.add("r", "shipping", "新疆包邮吗", XINJIANG_2, ts=2)
    c = g.add("r", "shipping", "发什么快递", COURIER, ts=3)
    assert a == b != c
    groups = g.groups("r")
    assert [(x.count, x.intent) for x in groups] == [(2, "shipping"), (1, "shipping")]


def test_same_meaning_different_intent_stays_apart() -> None:
    """Unframed groups never mix intents, however close the texts are."""
    g = QuestionGroups(similarity=0.5)
    assert g.add("r", "price", "这个呢", XINJIANG, ts=1) != g.add("r", "stock", "这个呢", XINJIANG, ts=1)


def test_per_product_intents_split_by_product() -> None:
    """"多少钱" for link 1 and for link 2 are different questions; shipping is not split."""
    g = QuestionGroups(similarity=0.5)
    assert g.add("r", "price", "多少钱", XINJIANG, 1, "p1") != g.add("r", "price", "多少钱", XINJIANG, 2, "p2")
    assert g.add("r", "shipping", "包邮吗", COURIER, 1, "p1") == g.add("r", "shipping", "包邮吗", COURIER, 2, "p2")
    shipping = next(x for x in g.groups("r") if x.intent == "shipping")
    assert sorted(shipping.product_ids) == ["p1", "p2"]


def test_representative_is_the_most_asked_wording() -> None:
    """The representative is the wording most viewers used; samples list distinct wordings."""
    g = QuestionGroups(similarity=0.8)
    for ts, text, vec in [(1, "新疆包邮吗", XINJIANG_2), (2, "新疆能发吗", XINJIANG), (3, "新疆能发吗", XINJIANG),
                          (4, "新疆能发吗", XINJIANG)]:
        g.add("r", "shipping", text, vec, ts)
    (group,) = g.groups("r")
    assert group.representative == "新疆能发吗"
    assert group.count == 4
    assert group.samples == ["新疆能发吗", "新疆包邮吗"]
    assert (group.first_ts, group.last_ts) == (1, 4)


def test_members_leave_with_the_window() -> None:
    """Comments older than the window no longer count; an empty group disappears."""
    g = QuestionGroups(window_s=60, similarity=0.8)
    g.add("r", "shipping", "新疆能发吗", XINJIANG, ts=0)
    g.add("r", "shipping", "新疆能发吗", XINJIANG, ts=50)
    assert g.groups("r", now=55)[0].count == 2
    assert g.groups("r", now=100)[0].count == 1
    assert g.groups("r", now=200) == []


def test_trend_rises_for_a_burst_and_falls_for_a_fading_question() -> None:
    """All of a group's comments in the last quarter of the window → trend 4; none → trend 0."""
    g = QuestionGroups(window_s=100, similarity=0.8)
    for ts in (80, 85, 90, 95):
        g.add("r", "shipping", "新疆能发吗", XINJIANG, ts)
    for ts in (10, 20, 30, 40):
        g.add("r", "price", "多少钱", COURIER, ts)
    trends = {x.intent: x.trend for x in g.groups("r", now=100)}
    assert trends == {"shipping": pytest.approx(4.0), "price": pytest.approx(0.0)}


def test_ungrouped_intents_and_rooms_are_separate() -> None:
    """Chitchat and praise are not grouped; rooms never share groups."""
    g = QuestionGroups()
    assert g.add("r", "chitchat", "哈哈", XINJIANG, 1) is None
    assert g.add("r", "praise", "好看", XINJIANG, 1) is None
    g.add("r1", "shipping", "新疆能发吗", XINJIANG, 1)
    assert g.groups("r2") == []
    assert len(g.groups("r1")) == 1
    g.reset("r1")
    assert g.groups("r1") == []


def test_biggest_group_first() -> None:
    """Groups come biggest first."""
    g = QuestionGroups(similarity=0.9)
    g.add("r", "price", "多少钱", COURIER, 1)
    for ts in range(3):
        g.add("r", "shipping", "新疆能发吗", XINJIANG, ts)
    assert [x.intent for x in g.groups("r")] == ["shipping", "price"]
