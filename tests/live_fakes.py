"""Small deterministic stand-ins for the pipeline, answerer, compliance checker and recommender,
used by the live-room unit tests (the end-to-end test uses the real parts)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

# The fakes return the real result types, so the live code is tested against the real shapes.
from assistant.answers import Answer
from assistant.compliance import Finding
from assistant.groups import QuestionGroup
from assistant.pipeline import CommentAnalysis
from recsys.service import Recommendation

# Names the live tests use.
FakeAnalysis, FakeGroup, FakeAnswer, FakeFinding, FakeRec = CommentAnalysis, QuestionGroup, Answer, Finding, Recommendation

RULES = (("多少钱", "price"), ("价格", "price"), ("发货", "shipping"), ("链接", "purchase"),
         ("想要", "purchase"), ("差评", "complaint"), ("退款", "complaint"), ("最", "product_info"))


class FakePipeline:
    """Keyword intents; identical question texts form one group; the on-stage product is the referent."""

    def __init__(self) -> None:
        self.groups_by_room: dict[str, dict[str, FakeGroup]] = {}
        self.calls = 0

    def process(self, room: Any, comments: Sequence[Any]) -> list[FakeAnalysis]:
        self.calls += 1
        out = []
        groups = self.groups_by_room.setdefault(room.room_id, {})
        for c in comments:
            intent = next((label for word, label in RULES if word in c.text), "chitchat")
            product = room.on_stage
            group_id = None
            if intent in ("price", "shipping", "product_info"):
                group_id = f"g-{intent}-{c.text}"
                g = groups.get(group_id)
                if g is None:
                    g = groups[group_id] = FakeGroup(group_id, intent, c.text, 0,
                                                     [product] if product else [], time.time(), time.time(), 1.0, [])
                g.count += 1
                g.samples = (g.samples + [c.text])[-3:]
            out.append(FakeAnalysis(c.seq, c.comment_id, c.user_id, c.text, c.text.strip(), c.ts,
                                    {intent: 0.9}, intent, product, group_id, None))
        return out

    def named_product(self, question: str, room: Any) -> str | None:
        return None  # the fake names nothing: a question goes to the product on stage

    def room_interest(self, room_id: str, now: float | None = None) -> dict[str, float]:
        return {}  # FakeRecommender.pitch_next pitches the line-up in order, whatever the interest

    def groups(self, room_id: str, now: float | None = None) -> list[FakeGroup]:
        return sorted(self.groups_by_room.get(room_id, {}).values(), key=lambda g: -g.count)


class FakeCompliance:
    def check(self, text: str) -> list[FakeFinding]:
        i = text.find("最")
        return [] if i < 0 else [FakeFinding(i, i + 1, "最", "absolute_claim", "换成“很”")]


class FakeAnswerer:
    """Answers price questions from the product row; hands everything else to a human."""

    def __init__(self) -> None:
        self.calls = 0

    def answer(self, question: str, room: Any = None, product_id: str | None = None,
               intent: str | None = None) -> FakeAnswer:
        self.calls += 1
        product = room.product(product_id) if room is not None and product_id else None
        if product is not None and ("多少钱" in question or intent == "price"):
            return FakeAnswer(f"{product['title']} 现在 {product['price']:.0f} 元", f"报价：{product['price']:.0f} 元",
                              [f"product:{product['id']}"], 0.9, False, "product_fact")
        if "最" in question:
            return FakeAnswer("这是最好的", "这是最好的", [], 0.6, False, "talking_point")
        return FakeAnswer("稍等，客服马上回复您", "", [], 0.1, True, "low_confidence")


class FakeRecommender:
    """Pitches the line-up products not on stage, in link order."""

    def pitch_next(self, room: Any, room_interest: dict[str, float] | None = None, k: int = 3) -> list[FakeRec]:
        return [FakeRec(p["id"], 1.0 / (i + 1), "live_now", p)
                for i, p in enumerate(room.lineup) if p["id"] != room.on_stage][:k]


def seed_room(store: Any, room_id: str = "r1", n: int = 3) -> list[str]:
    """Products p1..pn and a room with them as its line-up, p1 on stage."""
    ids = [f"p{i}" for i in range(1, n + 1)]
    store.upsert_products([{"id": pid, "title": f"商品{pid}", "price": 10.0 * i, "category": "beauty"}
                           for i, pid in enumerate(ids, 1)])
    store.upsert_room(room_id, "测试直播间", "douyin", ids, ids[0])
    return ids
