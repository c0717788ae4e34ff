"""Question frames: what a comment asks, whatever its wording — its intent, the product it is about,
and the attribute or policy it asks for (price, size, material, quantity, delivery time, returns…).

The attribute comes from rule lexicons over the normalised text, written for live-stream slang
("多钱", "什么价", "几块" → price; "多大", "几码", "尺码" → size; "几克", "多少ml", "多少抽" → quantity).
The frame is used twice: to group live questions (one card per frame, `assistant/groups.py`) and
to answer them (what a candidate must state to answer it, `assistant/ranking.py`). A question whose
wording no lexicon covers has no attribute; groups then fall back to embedding similarity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ATTRIBUTES", "ATTRIBUTE_INTENT", "COMPARISON", "Frame", "attribute_of", "frame_of"]

# Ordered: the first pattern that matches names the attribute. Specific before generic: "多少抽"
# is a quantity before "多少" could mean anything; "几天到" is delivery time before "到" is shipping.
_LEXICON: list[tuple[str, str]] = [
    ("comparison", r"区别|不同|差别|哪个(?:更|比较|好|适合)|哪款(?:更|比较|好|适合)|比较一下|对比|还是.{0,6}(?:好|适合)|"
                   r"\d号和\d号|[一二三四五六七八九]号和[一二三四五六七八九]号|有啥不一样|有什么不一样"),
    ("stock", r"有货|库存|还有吗|还有没有|没货|断货|补货|还剩|售罄|卖完|抢完|没了吗|有现货"),
    ("delivery_time", r"几天[到能发]|多久[到能发]|多长时间[到能发]|什么时候[到发]|啥时候[到发]|几号[到发]|"
                      r"当天发|今天发|明天[到发]|多久发货|几天发货|发货时间|到货时间|时效|多久能收到|几天能收到|几天收到"),
    ("shipping_area", r"新疆|西藏|内蒙|青海|偏远|港澳|香港|澳门|台湾|海外|国外|能寄到|能发到|发到.{0,4}吗|包邮吗|包不包邮|包邮|运费|邮费"),
    ("courier", r"什么快递|啥快递|哪家快递|顺丰|中通|圆通|韵达|申通|京东快递|邮政|快递"),
    ("returns", r"退货|退款|退换|换货|七天无理由|7天无理由|无理由|能退|可以退|退吗|包退|运费险|不合适怎么办|换码"),
    ("warranty", r"保修|质保|坏了|维修|售后|包换|换新|保多久|保几年"),
    ("invoice", r"发票|开票"),
    ("promotion", r"优惠|券|折扣|活动|赠品|送什么|送啥|送不送|有送|满减|便宜点|福利|分期|买一送|第二件|凑单|拍几件"),
    ("price", r"多少钱|多钱|几块|几元|多少米|什么价|啥价|价格|价钱|价位|怎么卖|贵不贵|贵吗|多少一[个件盒瓶支包]|\d+元吗|"
              r"what.{0,4}price|how much"),
    ("quantity", r"几克|多少克|多少g\b|几g\b|多少ml|几ml|多少毫升|几毫升|多少抽|几抽|几片|多少片|几包|多少包|几粒|多少粒|"
                 r"几支|多少支|几个装|几只装|几件套|多少只|净含量|几两|几斤|多少斤|分量|份量|量多|量大"),
    ("capacity", r"几升|多少升|容量|多大容量|装多少|能装|几个人用|几口人|多少人用|几l\b|多少l\b|毫安|mah|续航|能用多久|听多久|用多久没电"),
    ("size", r"多大|几码|尺码|尺寸|码数|多长|多宽|多高|多厚|身高|体重|斤穿|穿什么码|偏大|偏小|正码|码吗|大小|多少码|size"),
    ("weight", r"多重|重不重|重量|几公斤|多少公斤"),
    ("material", r"材质|面料|什么料|啥料|成分|含量|纯棉|棉的吗|羊毛|真皮|不锈钢|塑料|什么做的|啥做的|含不含|有没有酒精|有酒精|香精|防腐剂"),
    ("skin_type", r"油皮|干皮|混油|混干|敏感肌|痘痘肌|孕妇|哺乳|肤质|适合什么皮肤|学生党能用"),
    ("color", r"颜色|色号|什么色|几个色|哪个色|有黑|有白|有红|有蓝|有粉|显白|黄皮"),
    ("origin", r"产地|哪里产|哪产的|国产|进口|原产|哪里生产|哪生产"),
    ("shelf_life", r"保质期|过期|生产日期|能放多久|放多久|保存"),
    ("taste", r"好吃吗|什么味|啥味|口味|甜不甜|辣不辣|咸不咸|味道"),
    ("usage", r"怎么用|咋用|如何用|用法|怎么吃|怎么洗|怎么清洗|能洗吗|机洗|手洗|怎么穿|怎么搭|怎么充电|怎么连|使用方法|步骤|多久用一次|一天几次"),
    ("compatibility", r"兼容|支持|适配|能连|能用.{0,6}吗|可以用.{0,6}吗|能不能用|能当|能做|可以做|能放|能不能|可不可以|适合.{0,6}吗|"
                      r"苹果|安卓|iphone|华为|小米|无线充|快充|防水|降噪"),
]
_COMPILED: list[tuple[str, re.Pattern[str]]] = [(name, re.compile(p)) for name, p in _LEXICON]
ATTRIBUTES: tuple[str, ...] = tuple(name for name, _ in _LEXICON)
COMPARISON = "comparison"

# The intent a frame's attribute belongs to: "多钱" is a price question even when the classifier
# reads it as product_info, so one card holds both.
ATTRIBUTE_INTENT: dict[str, str] = {
    "price": "price", "stock": "stock", "promotion": "promotion",
    "delivery_time": "shipping", "shipping_area": "shipping", "courier": "shipping",
    "returns": "after_sales", "warranty": "after_sales", "invoice": "after_sales",
}
# Intents a viewer's question can have; a frame never turns chitchat, praise or spam into a question.
QUESTION_INTENTS = frozenset({"price", "promotion", "shipping", "stock", "product_info", "purchase", "after_sales"})


@dataclass(frozen=True)
class Frame:
    """One understanding of a question: intent, product, and the attribute or policy it asks for."""

    intent: str
    product_id: str | None
    attribute: str | None

    @property
    def key(self) -> tuple[str, str | None, str] | None:
        """The grouping key (intent, product, attribute), or None when no attribute was recognised."""
        if self.attribute is None:
            return None
        return (self.intent, self.product_id, self.attribute)


def attribute_of(normalized: str) -> str | None:
    """The attribute or policy a normalised question asks for, or None when no lexicon covers it."""
    text = normalized.lower()
    for name, pattern in _COMPILED:
        if pattern.search(text):
            return name
    return None


def frame_of(normalized: str, intent: str, product_id: str | None = None) -> Frame:
    """The frame of a normalised comment given its classified intent and resolved product.

    The attribute's own intent wins over the classifier's for question intents (a price question
    read as product_info is still a price question); chitchat, praise and spam keep no attribute.
    """
    if intent not in QUESTION_INTENTS:
        return Frame(intent, product_id, None)
    attribute = attribute_of(normalized)
    if attribute is None:
        return Frame(intent, product_id, None)
    return Frame(ATTRIBUTE_INTENT.get(attribute, "product_info" if intent not in ("purchase",) else intent),
                 product_id, attribute)
