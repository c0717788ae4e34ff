"""The comment pipeline: batches of a room's comments → intent, product, question group; bad input never raises."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from assistant.intents import MODEL_KIND, train_classifier
from assistant.labelled import Example
from assistant.pipeline import CommentPipeline, build_pipeline
from knowledge.embedder import HashingEmbedder
from knowledge.room import RoomState
from knowledge.store import CommentIn, Store, StoredComment

TRAIN = {
    "price": ["多少钱", "这个多少钱", "价格多少", "到手价多少", "有优惠券吗", "能便宜点吗", "报个价", "几元"],
    "shipping": ["包邮吗", "什么时候发货", "发什么快递", "新疆能发吗", "几天能到", "顺丰吗", "发货快吗", "包邮不"],
    "stock": ["还有货吗", "l码还有吗", "黑色没了吗", "什么时候补货", "库存多少", "还有库存吗", "售罄了吗", "补货吗"],
    "praise": ["好看", "质量很好", "太好用了", "主播讲得好", "回购了", "很喜欢", "好漂亮", "超赞"],
}
LINEUP = [
    {"id": "p1", "title": "花间集水润面霜", "brand": "花间集", "attributes": {"类型": "面霜"}},
    {"id": "p2", "title": "北岭加厚羽绒服", "brand": "北岭", "attributes": {"类型": "羽绒服", "颜色": "黑色、米白"}},
]


class CountingEmbedder(HashingEmbedder):
    """The hashing embedder, counting encoder calls and texts."""

    def __init__(self) -> None:
        super().__init__(256)
        self.calls: list[int] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed and count."""
        self.calls.append(len(texts))
        return super().encode(texts)


@pytest.fixture
def embedder() -> CountingEmbedder:
    """A fresh counting embedder."""
    return CountingEmbedder()


@pytest.fixture
def pipeline(embedder: CountingEmbedder) -> CommentPipeline:
    """A pipeline whose head was trained on TRAIN (then the call counter is reset)."""
    classifier = train_classifier(embedder, [Example(t, (lab,)) for lab, ts in TRAIN.items() for t in ts])
    embedder.calls.clear()
    return CommentPipeline(classifier)


@pytest.fixture
def room() -> RoomState:
    """A two-link room with the cream on stage."""
    return RoomState("r1", lineup=[dict(p) for p in LINEUP], on_stage="p1")


def comments(*texts: str, start: int = 1, ts: float = 100.0) -> list[StoredComment]:
    """Stored comments with consecutive sequence numbers, one second apart."""
    return [StoredComment(seq=start + i, room_id="r1", platform="douyin", comment_id=f"c{start + i}",
                          user_id=f"u{i}", text=t, ts=ts + i, inserted=True) for i, t in enumerate(texts)]


def test_batch_is_understood_in_order(pipeline: CommentPipeline, room: RoomState) -> None:
    """Each comment keeps its identity and gets its intent, product and (for questions) a group."""
    out = pipeline.process(room, comments("多少钱", "2号链接包邮吗", "好看", "还有货吗"))
    assert [a.seq for a in out] == [1, 2, 3, 4]
    assert [a.top_intent for a in out] == ["price", "shipping", "praise", "stock"]
    assert [a.product_id for a in out] == ["p1", "p2", None, "p1"]
    assert out[0].group_id and out[1].group_id and out[3].group_id
    assert out[2].group_id is None  # praise is not a question
    assert all(a.rejected is None and a.top_intent in a.intents for a in out)


def test_one_encoder_call_per_batch_and_none_for_repeats(pipeline: CommentPipeline, room: RoomState,
                                                         embedder: CountingEmbedder) -> None:
    """A burst costs one encoder call over its distinct texts; a repeated burst costs none."""
    burst = comments(*(["多少钱"] * 50 + ["包邮吗"] * 30 + ["多少钱！！！"] * 20 + ["哈哈哈哈"] * 10))
    pipeline.process(room, burst)
    assert embedder.calls == [2]  # "多少钱！！！" normalises to a cached form; 哈哈 takes the fast path
    pipeline.process(room, comments(*["多少钱", "包邮吗"] * 40, start=500))
    assert embedder.calls == [2]


def test_repeated_question_forms_one_group(pipeline: CommentPipeline, room: RoomState) -> None:
    """Twenty viewers asking the same thing make one group of twenty, about the product on stage."""
    pipeline.process(room, comments(*["新疆能发吗"] * 20, "多少钱"))
    groups = pipeline.groups("r1")
    assert (groups[0].intent, groups[0].count, groups[0].representative) == ("shipping", 20, "新疆能发吗")
    assert groups[0].product_ids == ["p1"]
    assert pipeline.room_interest("r1") == {"p1": 1.0}


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty"),
    ("   \n\t", "empty"),
    ("好" * 10_000, "too_long"),
    ("\x00\x01\x02\x03\x04", "binary"),
    ("\x07\x08", "binary"),
    ("\ud800\udc00abc\ud800", "invalid_utf8"),
])
def test_bad_input_is_rejected_with_a_reason(pipeline: CommentPipeline, room: RoomState, text: str,
                                             reason: str) -> None:
    """Unusable comments come out as spam with a reason, and the rest of the batch is unaffected."""
    out = pipeline.process(room, comments("多少钱", text, "包邮吗"))
    assert (out[1].top_intent, out[1].rejected, out[1].group_id) == ("spam", reason, None)
    assert [out[0].top_intent, out[2].top_intent] == ["price", "shipping"]


def test_control_characters_inside_a_comment_are_stripped(pipeline: CommentPipeline, room: RoomState) -> None:
    """A real question with a stray control character is still understood."""
    (a,) = pipeline.process(room, comments("多少\x1b钱"))
    assert a.rejected is None and a.normalized == "多少 钱"


def test_spam_fast_path_in_the_pipeline(pipeline: CommentPipeline, room: RoomState,
                                        embedder: CountingEmbedder) -> None:
    """A contact handle is spam without an encoder call, and joins no group."""
    (a,) = pipeline.process(room, comments("加V:abc12345 便宜出"))
    assert (a.top_intent, a.group_id, a.product_id) == ("spam", None, None)
    assert embedder.calls == []


def test_analysis_is_json_ready(pipeline: CommentPipeline, room: RoomState) -> None:
    """`as_dict` holds the comment and what was understood of it, and survives a JSON round trip."""
    (a,) = pipeline.process(room, comments("多少钱"))
    out = json.loads(json.dumps(a.as_dict(), ensure_ascii=False))
    assert {k: out[k] for k in ("seq", "comment_id", "user_id", "text", "normalized", "ts", "top_intent",
                                "product_id", "rejected")} == {
        "seq": 1, "comment_id": "c1", "user_id": "u0", "text": "多少钱", "normalized": "多少钱", "ts": 100.0,
        "top_intent": "price", "product_id": "p1", "rejected": None}
    assert set(out["intents"]) == {"price"} and out["group_id"].startswith("r1:g")


def test_new_model_clears_what_was_understood(pipeline: CommentPipeline, room: RoomState,
                                              embedder: CountingEmbedder) -> None:
    """After `set_classifier`, cached texts are read again by the new model."""
    pipeline.process(room, comments("多少钱"))
    pipeline.set_classifier(pipeline.classifier)
    pipeline.process(room, comments("多少钱", start=9))
    assert embedder.calls == [1, 1]


def test_build_pipeline_trains_records_and_processes_stored_comments(store: Store, tmp_path: Path) -> None:
    """`build_pipeline` with an empty store trains the default model, records it, and understands comments."""
    store.upsert_products(LINEUP)
    store.upsert_room("r1", lineup=["p1", "p2"], on_stage="p2")
    pipeline = build_pipeline(HashingEmbedder(128), store, tmp_path / "models", threshold=0.4, window_s=60,
                              similarity=0.8)
    assert store.active_model(MODEL_KIND) is not None
    stored = store.add_comments("r1", [CommentIn("a", "新疆能发吗", "u1", 10.0), CommentIn("b", "新疆能发吗", "u2", 11.0)])
    out = pipeline.process(RoomState.load(store, "r1"), stored)
    store.set_comment_analysis([(a.seq, a.as_dict()) for a in out])
    assert out[0].group_id == out[1].group_id is not None
    assert out[0].product_id == "p2"
    assert store.comments_since("r1")[0]["analysis"]["top_intent"] == out[0].top_intent


@pytest.mark.slow
def test_paraphrases_group_with_the_real_model(real_embedder, tmp_path: Path, store: Store,  # type: ignore[no-untyped-def]
                                               room: RoomState) -> None:
    """With the real embedder, paraphrased Xinjiang-shipping questions join one group; a courier question does not."""
    pipeline = build_pipeline(real_embedder, store, tmp_path, threshold=0.35, window_s=120, similarity=0.78)
    out = pipeline.process(room, comments("新疆能发吗", "新疆可以发吗", "发新疆吗", "新疆能发货吗", "发什么快递"))
    assert [a.top_intent for a in out] == ["shipping"] * 5
    assert len({a.group_id for a in out[:4]}) == 1
    assert out[4].group_id != out[0].group_id
