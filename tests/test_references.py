"""Product references resolve to the right product of the room's line-up."""

from __future__ import annotations

import pytest

from assistant.normalize import normalize
from assistant.references import ReferenceResolver
from knowledge.room import RoomState

LINEUP = [
    {"id": "p1", "title": "花间集水润面霜 50g", "brand": "花间集", "attributes": {"类型": "面霜"}},
    {"id": "p2", "title": "柚见清透精华液 30ml", "brand": "柚见", "attributes": {"类型": "精华液"}},
    {"id": "p3", "title": "北岭加厚羽绒服", "brand": "北岭", "attributes": {"类型": "羽绒服", "颜色": "黑色、米白"}},
    {"id": "p4", "title": "棉舍宽松卫衣", "brand": "棉舍", "attributes": {"类型": "卫衣", "颜色": "灰色、粉色、黑色"}},
    {"id": "p5", "title": "声屿入门蓝牙耳机", "brand": "声屿", "attributes": {"类型": "蓝牙耳机"}},
]


@pytest.fixture
def room() -> RoomState:
    """A room with five links; the hoodie (link 4) is on stage."""
    return RoomState("r1", lineup=[dict(p) for p in LINEUP], on_stage="p4")


@pytest.mark.parametrize(("text", "expected"), [
    ("2号链接多少钱", "p2"),
    ("3号", "p3"),
    ("三号还有吗", "p3"),
    ("第五个怎么样", "p5"),
    ("#1 price?", "p1"),
    ("link 2", "p2"),
    ("粉色那款有M吗", "p4"),
    ("how much is the jacket", "p3"),
    ("耳机续航多久", "p5"),
    ("那个羽绒服有白色吗", "p3"),
    ("花间集那个好用吗", "p1"),
])
def test_explicit_references(room: RoomState, text: str, expected: str) -> None:
    """Link numbers, colours, types, brands and English names point at one line-up product."""
    assert ReferenceResolver().resolve(normalize(text), room, "product_info") == expected


def test_link_number_out_of_range_is_not_a_link(room: RoomState) -> None:
    """"38号" is a shoe size, not link 38: the question falls back to the product on stage."""
    assert ReferenceResolver().resolve(normalize("38号有吗"), room, "stock") == "p4"


def test_product_question_without_reference_means_the_stage(room: RoomState) -> None:
    """"多少钱" with no reference is about the product on stage."""
    assert ReferenceResolver().resolve("多少钱", room, "price") == "p4"


def test_chitchat_without_reference_means_no_product(room: RoomState) -> None:
    """Greetings and praise of the host are about no product."""
    resolver = ReferenceResolver()
    assert resolver.resolve("主播晚上好", room, "chitchat") is None
    assert resolver.resolve("主播好美", room, "praise") is None


def test_previous_means_the_one_on_stage_before(room: RoomState) -> None:
    """"刚才那个" is the product that was on stage before the current one."""
    resolver = ReferenceResolver()
    room.on_stage = "p1"
    resolver.observe(room)
    room.on_stage = "p3"
    assert resolver.resolve(normalize("刚才那个还有吗"), room, "stock") == "p1"


def test_type_named_after_switch_resolves_by_type(room: RoomState) -> None:
    """"刚才那个面霜" names the cream even two products later, when "刚才那个" alone means another one."""
    resolver = ReferenceResolver()
    for on_stage in ("p1", "p2"):
        room.on_stage = on_stage
        resolver.observe(room)
    room.on_stage = "p5"
    assert resolver.resolve(normalize("刚才那个还有吗"), room, "stock") == "p2"
    assert resolver.resolve(normalize("刚才那个面霜多少钱"), room, "price") == "p1"


def test_ambiguous_alias_prefers_the_stage() -> None:
    """"外套" fits two coats: the one on stage wins."""
    lineup = [*LINEUP, {"id": "p6", "title": "野径冲锋衣", "brand": "野径", "attributes": {"类型": "冲锋衣"}}]
    room = RoomState("r2", lineup=lineup, on_stage="p6")
    assert ReferenceResolver().resolve("外套防水吗", room, "product_info") == "p6"


def test_line_up_change_is_picked_up(room: RoomState) -> None:
    """A new line-up is re-indexed: link 1 is whatever is first now."""
    resolver = ReferenceResolver()
    assert resolver.resolve("1号", room, "price") == "p1"
    room.lineup = list(reversed(room.lineup))
    assert resolver.resolve("1号", room, "price") == "p5"


def test_empty_line_up(room: RoomState) -> None:
    """With no line-up, product questions still mean the stage and nothing raises."""
    empty = RoomState("r3", lineup=[], on_stage="p9")
    assert ReferenceResolver().resolve("2号多少钱", empty, "price") == "p9"
