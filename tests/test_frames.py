"""Question frames: the attribute a question asks for comes from the slang lexicons; groups follow frames."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.frames import Frame, attribute_of, frame_of
from assistant.groups import QuestionGroups
from assistant.normalize import normalize

# Forty wordings of "what does link 2 cost", as forty viewers typed them (the stream).
PRICE_WORDINGS = [
    "2号链接多少钱", "二号多钱", "2号什么价", "精华液多少钱", "2号多少米", "二号链接什么价格", "2号几块钱", "2号怎么卖",
    "二号宝贝多少钱啊", "2号链接价格多少", "2号贵不贵", "主播2号多少钱", "2号链接啥价", "二号价格", "2号多少钱一瓶",
    "2号现在什么价", "请问2号多少钱", "2号链接多钱呀", "2号的价钱", "二号链接怎么卖的", "2号价位多少", "2号多少钱呀主播",
    "2号链接多少米", "第2个多少钱", "2号商品价格", "二号几块", "2号产品多少钱", "2号到手多少钱", "2号精华多少钱",
    "2号链接多少钱？？", "2号 多少钱", "二号什么价", "2号链接几元", "2号宝贝价格", "2号啥价格", "2号精华液价格多少",
    "2号链接价格呢", "2号多少钱来着", "二号多少钱！！", "链接2多少钱",
]


@pytest.mark.parametrize(("question", "attribute"), [
    ("多少钱", "price"), ("二号多钱", "price"), ("什么价", "price"), ("几块", "price"), ("多少米", "price"),
    ("多大", "size"), ("几码", "size"), ("尺码怎么选", "size"), ("一包多少抽", "quantity"), ("面霜几克的", "quantity"),
    ("多少ml", "quantity"), ("几天能到", "delivery_time"), ("新疆发吗", "shipping_area"), ("能退吗", "returns"),
    ("保修多久", "warranty"), ("有货吗", "stock"), ("材质是什么", "material"), ("几升的", "capacity"),
    ("耳机支持无线充电吗", "compatibility"), ("防晒能当妆前乳用吗", "compatibility"), ("怎么用", "usage"),
    ("1号和3号有什么区别", "comparison"), ("哪个更保湿", "comparison"), ("油皮能用吗", "skin_type"),
])
def test_slang_maps_to_the_asked_attribute(question: str, attribute: str) -> None:
    """Each slang wording names the attribute a host would read into it."""
    assert attribute_of(normalize(question)) == attribute


def test_every_price_wording_is_a_price_frame() -> None:
    """All forty price wordings carry the price attribute; the frame's intent is price even when the
    classifier said product_info."""
    assert len(set(PRICE_WORDINGS)) == 40
    assert [w for w in PRICE_WORDINGS if attribute_of(normalize(w)) != "price"] == []
    assert frame_of(normalize("二号多钱"), "product_info", "p2") == Frame("price", "p2", "price")


def test_chitchat_and_unknown_wordings_have_no_frame_key() -> None:
    """Praise keeps no attribute, and a question no lexicon covers has no key (embedding grouping applies)."""
    assert frame_of("主播好美", "chitchat").key is None
    assert frame_of("这个呢", "product_info", "p1").key is None


def _vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=32).astype(np.float32)
    return v / np.linalg.norm(v)


def test_forty_price_wordings_make_one_group_and_size_another() -> None:
    """Forty price wordings for link 2 (random, dissimilar vectors) are one group of 40; "多大" questions
    for the same product are a group of their own; the same price question for link 1 is a third."""
    g = QuestionGroups(similarity=0.99)
    ids = {g.add("r", "price" if i % 3 else "product_info", normalize(w), _vector(i), ts=i, product_id="p2")
           for i, w in enumerate(PRICE_WORDINGS)}
    size = {g.add("r", "product_info", normalize(w), _vector(100 + i), ts=50, product_id="p2")
            for i, w in enumerate(["2号多大", "2号几码", "二号尺码多少"])}
    other = g.add("r", "price", "1号链接多少钱", _vector(200), ts=60, product_id="p1")
    assert len(ids) == 1 and len(size) == 1 and ids != size and other not in ids | size
    counts = {x.id: x.count for x in g.groups("r")}
    assert counts[ids.pop()] == 40 and counts[size.pop()] == 3
