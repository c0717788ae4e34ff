"""Answers: live price and stock from the store, retrieved facts, hand-off below threshold, compliance."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answers import HANDOFF_TEXT, Answerer, body_from, guess_intent, short_name
from assistant.compliance import ComplianceChecker
from knowledge.embedder import HashingEmbedder
from knowledge.errors import InvalidInputError, NotFoundError
from knowledge.kb import KnowledgeBase
from knowledge.room import RoomState
from knowledge.store import Store

PRODUCTS = [
    {"id": "earbuds", "title": "声悦 降噪蓝牙耳机", "category": "digital", "price": 199, "stock": 12},
    {"id": "cream", "title": "润颜 修护面霜", "category": "beauty", "price": 259, "stock": 0},
]
DOCS = [
    {"id": "earbuds-warranty", "kind": "policy", "product_id": "earbuds", "title": "耳机保修",
     "text": "耳机一年质保，只换不修。"},
    {"id": "earbuds-price", "kind": "faq", "product_id": "earbuds", "title": "耳机价格",
     "text": "耳机到手价159元。下单送收纳包。"},
    {"id": "cream-claim", "kind": "faq", "product_id": "cream", "title": "面霜功效",
     "text": "面霜能消炎祛痘，是最好的修护霜。"},
    {"id": "ship", "kind": "policy", "product_id": None, "title": "发货时间", "text": "下单后48小时内发货。"},
]


@pytest.fixture
def answerer(store: Store, tmp_path: Path) -> Answerer:
    """An answerer over two products and four documents, with a threshold the hashing embedder clears."""
    kb = KnowledgeBase(store, HashingEmbedder(256), tmp_path / "index")
    kb.upsert_products(PRODUCTS)
    kb.add_many(DOCS)
    store.upsert_room("r1", lineup=["earbuds", "cream"], on_stage="earbuds")
    return Answerer(kb, store, ComplianceChecker.default(), min_confidence=0.3)


def test_price_comes_from_the_store_not_from_a_stale_text(answerer: Answerer, store: Store) -> None:
    """"多少钱" about the earbuds answers tonight's price from the store, and follows a change at once."""
    a = answerer.answer("耳机多少钱", product_id="earbuds", intent="price")
    assert not a.handoff and "199" in a.text and "159" not in a.text
    assert a.sources == ["product:earbuds"]
    store.update_product("earbuds", price=149)
    assert "149" in answerer.answer("耳机多少钱", product_id="earbuds", intent="price").text


def test_price_without_a_product_means_the_one_on_stage(answerer: Answerer, store: Store) -> None:
    """In a room, a bare "多少钱" is about the product on stage."""
    a = answerer.answer("多少钱", room=RoomState.load(store, "r1"))
    assert "199" in a.text and a.sources == ["product:earbuds"]


def test_sold_out_product_says_so(answerer: Answerer) -> None:
    """Stock 0 in the store: the answer says sold out, whatever a document says."""
    a = answerer.answer("还有货吗", product_id="cream", intent="stock")
    assert "售罄" in a.text and not a.handoff


def test_retrieved_fact_answers_with_its_source(answerer: Answerer, store: Store) -> None:
    """"耳机保修多久" in the room answers from the earbuds' warranty and names it as the source."""
    a = answerer.answer("耳机保修多久", room=RoomState.load(store, "r1"))
    assert not a.handoff and a.sources[0] == "earbuds-warranty"
    assert "只换不修" in a.text and "只换不修" in a.talking_point
    assert 0.3 <= a.confidence <= 1.0


def test_stale_price_sentence_is_replaced_by_the_live_one() -> None:
    """A document's price sentence is dropped; the rest of the text is kept."""
    assert body_from("耳机到手价159元。下单送收纳包。") == "下单送收纳包。"


def test_long_sentence_is_cut_at_a_clause_break() -> None:
    """A sentence longer than the limit ends at its last comma before the limit, with a full stop."""
    text = "一段说明文字很长，" * 6 + "最后一段"  # one 58-character sentence
    assert body_from(text, limit=20) == "一段说明文字很长，" * 3 + "一段说明文字很长。"


def test_promotion_answer_carries_the_live_price(answerer: Answerer) -> None:
    """A promotion question about a product whose doc quotes an old price gets the live one instead."""
    a = answerer.answer("耳机现在有什么优惠 到手多少", product_id="earbuds", intent="promotion")
    assert not a.handoff and "159" not in a.text and "199" in a.text
    assert "product:earbuds" in a.sources


def test_unrelated_question_is_handed_off(answerer: Answerer) -> None:
    """A question the shop's knowledge does not cover is handed to a human, never guessed."""
    a = answerer.answer("主播今年多大了 哪里人", intent="product_info")
    assert a.handoff and a.text == HANDOFF_TEXT and a.talking_point == ""


def test_risky_wording_is_rewritten_before_sending(answerer: Answerer) -> None:
    """A document claiming 消炎/祛痘/最好 is answered with safer wording and the findings are reported."""
    a = answerer.answer("面霜有什么功效", product_id="cream", intent="product_info")
    assert not a.handoff
    checker = ComplianceChecker.default()
    assert checker.check(a.text, "beauty") == [] and checker.check(a.talking_point, "beauty") == []
    assert a.compliance == [] and {f.term for f in a.rewrites} >= {"消炎", "祛痘", "最好"}


def test_answer_that_cannot_be_cleaned_is_handed_off(answerer: Answerer) -> None:
    """A shop's suggestion that is itself risky leaves a finding after rewriting: the answer is handed off."""
    from assistant.compliance import ComplianceChecker, parse_rules

    answerer.compliance = ComplianceChecker(parse_rules(["只换不修\t绝对换新", "绝对\t"], "absolute_term"))
    a = answerer.answer("耳机保修多久", product_id="earbuds", intent="after_sales")
    assert a.handoff and a.text == HANDOFF_TEXT and [f.term for f in a.compliance] == ["绝对", "绝对"]


def test_non_questions_are_not_answered(answerer: Answerer) -> None:
    """A complaint goes to a human; the answerer does not answer praise or chit-chat."""
    assert answerer.answer("质量太差了", intent="complaint").handoff
    assert answerer.answer("主播好美", intent="praise").handoff


def test_bad_input(answerer: Answerer) -> None:
    """An empty question and an unknown product are clear errors."""
    with pytest.raises(InvalidInputError):
        answerer.answer("  ")
    with pytest.raises(NotFoundError):
        answerer.answer("保修多久", product_id="nope")


@pytest.mark.parametrize("question, intent", [
    ("这个多少钱", "price"), ("还有货吗", "stock"), ("什么时候发货", "shipping"),
    ("坏了能保修吗", "after_sales"), ("有优惠券吗", "promotion"), ("是什么材质", "product_info"),
])
def test_guess_intent(question: str, intent: str) -> None:
    """Without a classifier's label, keywords give the intent."""
    assert guess_intent(question) == intent


@pytest.mark.parametrize("title, name", [
    ("花间集水润面霜 50g", "花间集水润面霜"), ("厨小白 5L 可视空气炸锅", "可视空气炸锅"), ("500ml", "500ml"),
])
def test_short_name_skips_specs(title: str, name: str) -> None:
    """A host says the product's name, not its size."""
    assert short_name({"title": title}) == name


@pytest.mark.parametrize("question", ["几天能到", "多久能收到", "几天到货"])
def test_delivery_time_questions_are_answered_from_the_shipping_policy(question: str, real_embedder,  # type: ignore[no-untyped-def]
                                                                       tmp_path: Path) -> None:
    """On the demo shop with the real model, "how many days until it arrives" gets the shipping
    policy's delivery times (3 to 5 days), not a hand-off: 送达 is the term both sides fold to."""
    from knowledge.demo import generate_documents, generate_products
    from knowledge.kb_eval import throwaway_kb

    products = generate_products()
    with throwaway_kb(real_embedder, generate_documents(products), products) as kb:
        a = Answerer(kb, kb.store, ComplianceChecker.default()).answer(question)
    assert not a.handoff and a.sources[0] == "policy-shipping" and "3到5天送达" in a.text
