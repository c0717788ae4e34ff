"""Normalisation: one written form for the many ways viewers type the same comment."""

from __future__ import annotations

import pytest

from assistant.normalize import MAX_CHARS, normalize, screen


@pytest.mark.parametrize(("raw", "expected"), [
    ("這個多少錢？？？", "这个多少钱?"),  # Traditional → Simplified, full-width and repeated punctuation
    ("ＡＢＣ１２３", "abc123"),  # full-width letters and digits → half-width, lower case
    ("哈哈哈哈哈哈", "哈哈"),
    ("666666666", "666"),
    ("1111111", "111"),
    ("冲鸭冲鸭冲鸭冲鸭", "冲鸭冲鸭"),
    ("😂😂😂笑死", "😂笑死"),
    ("[赞][赞][赞]", "[赞]"),
    ("加V：abc12345", "加微信:abc12345"),
    ("vx多少", "微信多少"),
    ("咋卖的", "怎么卖的"),
    ("啥时候发货", "什么时候发货"),
    ("肿么还不发货", "怎么还不发货"),
    ("木有货了吗", "没有货了吗"),
    ("有木有優惠", "有没有优惠"),
    ("99米", "99元"),
    ("多少米", "多少钱"),
    ("几米", "多少钱"),
    ("这个裤子几米长", "这个裤子几米长"),
    ("5块钱", "5元"),
    ("  多少   钱  ", "多少 钱"),
    ("包游吗", "包邮吗"),  # typos of a fast thumb
    ("几天发伙", "几天发货"),
    ("福带还有吗", "福袋还有吗"),
    ("上连接", "上链接"),
    ("优惠卷咋领", "优惠券怎么领"),
    ("还有伐", "还有吗"),
    ("duoshaoqian", "多少钱"),  # pinyin typed without switching input method
    ("fu dai", "福袋"),
])
def test_known_forms(raw: str, expected: str) -> None:
    """Each variant folds to the expected canonical form."""
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw", ["1米6穿什么码", "155 90斤", "v8 吸尘器", "iphone 15 pro"])
def test_leaves_heights_sizes_and_models_alone(raw: str) -> None:
    """A height (1米6), a size line and a model number are not prices or contact handles."""
    assert normalize(raw) == raw


def test_traditional_and_simplified_share_a_form() -> None:
    """The same question typed in Traditional and Simplified Chinese normalises identically."""
    assert normalize("什麼時候發貨") == normalize("什么时候发货")


def test_control_characters_are_dropped() -> None:
    """Control characters inside a comment become spaces and are then trimmed away."""
    assert normalize("多少\x07钱\x1b") == "多少 钱"


@pytest.mark.parametrize(("raw", "reason"), [
    ("", "empty"),
    ("   \t ", "empty"),
    (None, "empty"),
    ("a" * 10_000, "too_long"),
    (b"\xff\xfe\xfa", "invalid_utf8"),
    ("\ud800abc", "invalid_utf8"),
    ("\x00\x01\x02\x03", "binary"),
    (12345, "not_text"),
])
def test_screen_rejects_unusable_input(raw: object, reason: str) -> None:
    """Unusable comments get a reason, never an exception."""
    assert screen(raw)[1] == reason


def test_screen_accepts_ordinary_comments() -> None:
    """Ordinary comments, UTF-8 bytes included, pass with no reason."""
    assert screen("2号链接多少钱") == ("2号链接多少钱", None)
    assert screen("包邮吗".encode()) == ("包邮吗", None)
    assert screen("x" * MAX_CHARS)[1] is None
