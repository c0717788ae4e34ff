"""Which product of the room's line-up a comment means: "2号链接", "3号", "粉色那款", "刚才那个面霜",
"the jacket", or, for a product question with no reference at all, the product on stage.

The resolver reads the room state it is given (line-up in link order, product on stage) and keeps
one thing of its own per room: the order in which products were on stage, so "刚才那个" (the one
before) can be answered. Product keywords (type, brand, title words, colours, shades) are indexed
once per line-up.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

from knowledge.room import RoomState

# Intents that are about a product even when the comment names none: they mean the one on stage.
PRODUCT_INTENTS = frozenset({"price", "stock", "product_info", "purchase", "shipping", "promotion"})

_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_CN_NUM = "[一二两三四五六七八九十]|十[一二三四五六七八九]"
_LINK = re.compile(
    rf"(?<![\d.])(\d{{1,2}}|{_CN_NUM})\s*号(?:链接|链|宝贝|商品|产品)?"
    rf"|第\s*(\d{{1,2}}|{_CN_NUM})\s*(?:个|款|件|号|个链接)"
    r"|(?:链接|link|no\.?|number|#)\s*(\d{1,2})(?!\d)"
)
_THIS = re.compile(r"这个|这款|这件|这一款|现在这|当前|主播手上|手上这|this one|this")
_PREVIOUS = re.compile(r"刚才|刚刚|上一个|上个|前一个|之前那|previous|last one|before")

# English names of product types a viewer may write in a Chinese room (and Chinese generic names).
ALIASES: dict[str, tuple[str, ...]] = {
    "jacket": ("夹克", "羽绒服", "冲锋衣"), "down jacket": ("羽绒服",), "coat": ("羽绒服", "冲锋衣", "夹克"),
    "外套": ("羽绒服", "冲锋衣", "夹克"), "cream": ("面霜",), "face cream": ("面霜",), "serum": ("精华液",),
    "cleanser": ("洗面奶",), "lipstick": ("口红",), "foundation": ("粉底液",), "sunscreen": ("防晒霜",),
    "mask": ("面膜",), "eye cream": ("眼霜",), "hoodie": ("卫衣",), "sweatshirt": ("卫衣",),
    "jeans": ("牛仔裤",), "dress": ("连衣裙",), "裙子": ("连衣裙",), "sweater": ("针织衫",),
    "毛衣": ("针织衫",), "pants": ("阔腿裤", "牛仔裤"), "trousers": ("阔腿裤",), "裤子": ("阔腿裤", "牛仔裤"),
    "nuts": ("坚果礼盒",), "jerky": ("牛肉干",), "oatmeal": ("燕麦片",), "oats": ("燕麦片",),
    "coffee": ("咖啡豆", "挂耳咖啡"), "honey": ("蜂蜜",), "chocolate": ("巧克力",),
    "air fryer": ("空气炸锅",), "fryer": ("空气炸锅",), "rice cooker": ("电饭煲",), "bedding": ("四件套",),
    "storage box": ("收纳箱",), "thermos": ("保温杯",), "cup": ("保温杯",), "bottle": ("保温杯",),
    "杯子": ("保温杯",), "mop": ("拖把",), "pillow": ("乳胶枕",), "枕头": ("乳胶枕",), "diffuser": ("香薰",),
    "earphones": ("蓝牙耳机",), "earbuds": ("蓝牙耳机",), "headphones": ("蓝牙耳机",), "耳机": ("蓝牙耳机",),
    "power bank": ("充电宝",), "keyboard": ("机械键盘",), "键盘": ("机械键盘",), "watch": ("智能手表",),
    "手表": ("智能手表",), "cable": ("数据线",), "stand": ("平板支架",), "支架": ("平板支架",),
    "speaker": ("蓝牙音箱",), "音箱": ("蓝牙音箱",), "mouse": ("无线鼠标",), "鼠标": ("无线鼠标",),
    "炸锅": ("空气炸锅",), "坚果": ("坚果礼盒",), "咖啡": ("咖啡豆", "挂耳咖啡"), "精华": ("精华液",),
    "羽绒": ("羽绒服",), "防晒": ("防晒霜",), "粉底": ("粉底液",),
}
_SPLIT = re.compile(r"[、，,/；;\s]+")


def _alias_pattern() -> re.Pattern[str]:
    words = sorted(ALIASES, key=len, reverse=True)
    return re.compile("|".join(rf"(?<![a-z]){re.escape(w)}(?:s|es)?(?![a-z])" if w.isascii() else re.escape(w)
                               for w in words))


_ALIAS = _alias_pattern()


def _alias_kinds(text: str) -> set[str]:
    """Product types named by an alias in the text ("the jackets" → 夹克, 羽绒服, 冲锋衣)."""
    kinds: set[str] = set()
    for m in _ALIAS.finditer(text):
        word = m.group(0)
        key = next((c for c in (word, word[:-2], word[:-1]) if c in ALIASES), None)
        if key:
            kinds.update(ALIASES[key])
    return kinds


def _number(token: str) -> int:
    if token.isdigit():
        return int(token)
    if token.startswith("十"):
        return 10 + _CN_DIGITS.get(token[1:], 0)
    return _CN_DIGITS[token]


@dataclass(frozen=True)
class _Keyword:
    term: str
    weight: float


def product_keywords(product: dict[str, Any]) -> list[_Keyword]:
    """The words that point at a product: its type, brand, title, colours and shades (strongest first)."""
    attrs = product.get("attributes") or {}
    out: list[_Keyword] = []
    kind = str(attrs.get("类型") or "")
    if kind:
        out.append(_Keyword(kind, 3.0))
    if product.get("brand"):
        out.append(_Keyword(str(product["brand"]).lower(), 3.0))
    for key in ("颜色", "色号", "香型", "口味", "款式"):
        for value in _SPLIT.split(str(attrs.get(key) or "")):
            value = value.strip().lstrip("#0123456789 ").lower()
            if len(value) >= 2:
                out.append(_Keyword(value, 2.0))
                if value.endswith("色") and len(value) == 2:  # "粉色" is also said "粉的", "粉粉的"
                    out.append(_Keyword(value[0] + "的", 1.5))
    title = str(product.get("title") or "").lower()
    try:
        import jieba

        jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter is not ours to print
        words = [w for w in jieba.lcut(title) if len(w) >= 2 and not w.isdigit()]
    except ImportError:  # pragma: no cover - jieba is a dependency; fall back to the whole title
        words = [title]
    out.extend(_Keyword(w, 1.0) for w in words if w != kind)
    return out


class ReferenceResolver:
    """Resolves product references in normalised comments against a room's line-up."""

    def __init__(self) -> None:
        self._index: dict[str, tuple[tuple[str, ...], list[tuple[str, list[_Keyword]]]]] = {}
        self._stage: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def _keywords(self, room: RoomState) -> list[tuple[str, list[_Keyword]]]:
        signature = tuple(f"{p['id']}\x1f{p.get('title')}" for p in room.lineup)
        with self._lock:
            cached = self._index.get(room.room_id)
            if cached is None or cached[0] != signature:
                cached = (signature, [(p["id"], product_keywords(p)) for p in room.lineup])
                self._index[room.room_id] = cached
        return cached[1]

    def observe(self, room: RoomState) -> None:
        """Note the product on stage, so that "刚才那个" can later mean the one before it."""
        if not room.on_stage:
            return
        with self._lock:
            history = self._stage.setdefault(room.room_id, [])
            if not history or history[-1] != room.on_stage:
                if room.on_stage in history:
                    history.remove(room.on_stage)
                history.append(room.on_stage)
                del history[:-20]

    def previous(self, room: RoomState) -> str | None:
        """The product on stage before the current one, if the resolver saw one."""
        with self._lock:
            history = [pid for pid in self._stage.get(room.room_id, []) if pid != room.on_stage]
        return history[-1] if history else None

    def link(self, text: str, room: RoomState) -> str | None:
        """The line-up product a link number ("2号链接", "第三个", "#2") points at, if in range."""
        for m in _LINK.finditer(text):
            token = next(g for g in m.groups() if g)
            n = _number(token)
            if 1 <= n <= len(room.lineup):
                return room.lineup[n - 1]["id"]
        return None

    def mention(self, text: str, room: RoomState) -> str | None:
        """The line-up product whose keywords (or an alias's) the text mentions most strongly."""
        aliases = _alias_kinds(text)
        scores: dict[str, float] = {}
        for pid, keywords in self._keywords(room):
            score = 0.0
            for kw in keywords:
                if kw.term in text or (kw.weight == 3.0 and kw.term in aliases):
                    score += kw.weight * len(kw.term)
            if score:
                scores[pid] = score
        if not scores:
            return None
        best = max(scores.values())
        tied = [pid for pid, s in scores.items() if s == best]
        if len(tied) == 1:
            return tied[0]
        # Several products fit as well ("外套" and two coats on the line-up): the one on stage, or the
        # one on stage most recently, is what a viewer watching the show means.
        with self._lock:
            history = list(self._stage.get(room.room_id, []))
        for staged in [room.on_stage, *reversed(history)]:
            if staged in tied:
                return staged
        return None

    def named(self, text: str, room: RoomState) -> str | None:
        """The line-up product a normalised text names by link number or by name, or None."""
        return self.link(text, room) or self.mention(text, room)

    def resolve(self, text: str, room: RoomState, intent: str | None = None) -> str | None:
        """The product a normalised comment means, or None; falls back to the stage for product intents."""
        if not room.lineup:
            return room.on_stage if intent in PRODUCT_INTENTS else None
        self.observe(room)
        found = self.named(text, room)
        if found:
            return found
        if _PREVIOUS.search(text):
            return self.previous(room)
        if _THIS.search(text) or intent in PRODUCT_INTENTS:
            return room.on_stage
        return None
