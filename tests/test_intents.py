"""Intent classification: fast path, trained head, versioned models, labelled files and metrics."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import IntentModelError, LabelledDataError
from assistant.head import IntentHead
from assistant.intents import (
    INTENTS,
    MODEL_KIND,
    fast_path,
    load_active,
    load_or_train,
    save_classifier,
    train_classifier,
)
from assistant.labelled import DATA_DIR, TEST_FILE, Example, evaluate, read_examples
from knowledge.embedder import HashingEmbedder
from knowledge.store import Store

# A tiny, clearly separable set: each label has its own vocabulary, so a correct head must learn it.
SMALL = {
    "price": ["多少钱", "这个多少钱", "价格多少", "到手价多少", "几元", "有优惠券吗", "能便宜点吗", "报个价"],
    "shipping": ["包邮吗", "什么时候发货", "发什么快递", "新疆能发吗", "几天能到", "顺丰吗", "发货快吗", "包邮不"],
    "stock": ["还有货吗", "l码还有吗", "黑色没了吗", "什么时候补货", "库存多少", "还有库存吗", "售罄了吗", "补货吗"],
    "after_sales": ["怎么退货", "能退款吗", "我要换货", "订单一直没更新", "怎么开发票", "退货地址", "申请售后", "退款多久到"],
}


def small_examples() -> list[Example]:
    """The tiny set as examples."""
    return [Example(text, (label,)) for label, texts in SMALL.items() for text in texts]


@pytest.fixture(scope="module")
def small_classifier():  # type: ignore[no-untyped-def]
    """A head trained on the tiny set with the hashing embedder."""
    return train_classifier(HashingEmbedder(256), small_examples())


@pytest.mark.parametrize(("text", "label"), [
    ("领券点击 http://t.cn/abc", "spam"),
    ("www.fakeshop.com 便宜", "spam"),
    ("加微信:abc12345", "spam"),
    ("私聊13812345678", "spam"),
    ("qq 123456789", "spam"),
    ("👍", "praise"),
    ("❤", "praise"),
    ("👎", "complaint"),
    ("🧧", "promotion"),
    ("😂", "chitchat"),
    ("?", "chitchat"),
    ("主播晚上好", "chitchat"),
    ("来了来了", "chitchat"),
])
def test_fast_path_decides_trivial_comments_and_spam(text: str, label: str) -> None:
    """Spam patterns, emoji-only comments and greetings are decided without the model."""
    pred = fast_path(text)
    assert pred is not None and pred.top == label and pred.source == "fast"


@pytest.mark.parametrize("text", ["多少钱", "v8 吸尘器怎么样", "微信支付可以吗", "2号链接"])
def test_fast_path_leaves_real_questions_to_the_model(text: str) -> None:
    """Ordinary questions (even ones mentioning 微信 or a model number) go to the model."""
    assert fast_path(text) is None


def test_trained_head_gives_training_comments_their_labels(small_classifier) -> None:  # type: ignore[no-untyped-def]
    """Every comment the head was trained on comes back with its own label as the top intent."""
    examples = small_examples()
    preds = small_classifier.classify([ex.text for ex in examples])
    assert [p.top for p in preds] == [ex.labels[0] for ex in examples]
    assert all(p.source == "model" and p.top in p.intents for p in preds)


def test_labels_start_with_the_stable_set_and_add_shop_labels() -> None:
    """A shop's new label is learned after the stable INTENTS and predicted for its examples."""
    extra = [Example(t, ("size_advice",)) for t in ["155 90斤穿什么码", "160 100斤选哪个码", "身高170穿l吗",
                                                   "165 110斤什么码", "150 85斤穿s吗", "175 130斤穿xl吗"]]
    classifier = train_classifier(HashingEmbedder(256), [*small_examples(), *extra])
    assert classifier.labels[: len(INTENTS)] == list(INTENTS)
    assert classifier.labels[-1] == "size_advice"
    assert classifier.classify(["155 90斤穿什么码"])[0].top == "size_advice"


def test_rejected_input_is_spam_with_reason(small_classifier) -> None:  # type: ignore[no-untyped-def]
    """Empty, binary and oversized comments are `spam` from the rejected path, never an exception."""
    preds = small_classifier.classify(["", "   ", "\x00\x01", "哈" * 10_000, b"\xff\xfe", "\ud800"])
    assert {(p.top, p.source) for p in preds} == {("spam", "rejected")}


def test_save_and_load_round_trip_without_pickle(small_classifier, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A saved head loads (allow_pickle=False) and scores exactly as before; meta names version and embedder."""
    directory = save_classifier(small_classifier, tmp_path)
    assert directory == tmp_path / "intents" / small_classifier.version
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    assert meta["version"] == small_classifier.version and meta["embedder"] == "hashing-256"
    loaded = IntentHead.load(directory)
    emb = HashingEmbedder(256).encode(["多少钱", "包邮吗"])
    np.testing.assert_allclose(loaded.scores(emb, ["多少钱", "包邮吗"]),
                               small_classifier.head.scores(emb, ["多少钱", "包邮吗"]), rtol=1e-6)


def test_damaged_model_is_a_clear_error(tmp_path: Path) -> None:
    """A missing or damaged model directory raises IntentModelError naming the directory."""
    with pytest.raises(IntentModelError, match="cannot read"):
        IntentHead.load(tmp_path)


def test_store_records_and_reloads_the_active_model(small_classifier, store: Store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A saved model becomes the active `intent_head`; a different embedder does not get it."""
    save_classifier(small_classifier, tmp_path, store)
    assert store.active_model(MODEL_KIND)["version"] == small_classifier.version
    again = load_active(HashingEmbedder(256), store)
    assert again is not None and again.version == small_classifier.version
    assert load_active(HashingEmbedder(128), store) is None


def test_load_or_train_trains_a_default_once(store: Store, tmp_path: Path) -> None:
    """With no model recorded, one is trained from the repo's data, recorded, and reused next time."""
    emb = HashingEmbedder(64)
    first = load_or_train(emb, store, tmp_path)
    assert store.active_model(MODEL_KIND)["version"] == first.version
    assert load_or_train(emb, store, tmp_path).version == first.version
    assert (tmp_path / "intents" / first.version / "head.npz").is_file()


def test_default_model_is_cached_across_data_directories(tmp_path: Path) -> None:
    """A second fresh data directory gets the same default model from the cache, without training."""
    emb = HashingEmbedder(64)
    first_store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    first = load_or_train(emb, first_store, tmp_path / "a")  # trains, or finds the session's cached copy
    steps: list[str] = []
    second_store = Store(f"sqlite:///{tmp_path / 'b.db'}")
    second = load_or_train(emb, second_store, tmp_path / "b", progress=steps.append)
    assert steps == []  # nothing was trained
    assert second.version == first.version
    np.testing.assert_array_equal(second.head.weights, first.head.weights)
    assert second_store.active_model(MODEL_KIND)["version"] == first.version
    assert (tmp_path / "b" / "intents" / first.version / "head.npz").is_file()
    first_store.close()
    second_store.close()


def test_too_few_examples_is_refused() -> None:
    """Training on a handful of comments is a clear error, not a useless model."""
    with pytest.raises(LabelledDataError, match="at least 10"):
        train_classifier(HashingEmbedder(64), small_examples()[:3])


@pytest.mark.parametrize(("content", "message"), [
    ("多少钱\n", "expected `text<TAB>label`"),
    ("多少钱\tPrice!\n", "lower-case"),
    ("多少钱\t\n", "no label"),
    ("# only a comment\n\n", "no labelled lines"),
    ("多少钱\tprize\n", "unknown label"),
])
def test_bad_labelled_files_name_the_problem(tmp_path: Path, content: str, message: str) -> None:
    """Each malformed file raises LabelledDataError with the line and reason."""
    path = tmp_path / "bad.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LabelledDataError, match=message):
        read_examples(path, known=INTENTS)


def test_labelled_file_reads_multi_labels_and_skips_comments(tmp_path: Path) -> None:
    """`a|b` gives two labels; `#` lines and blank lines are skipped; a BOM is ignored."""
    path = tmp_path / "ok.tsv"
    path.write_text("\ufeff# header\n多少钱包邮吗\tprice|shipping\n\n好看\tpraise\n", encoding="utf-8")
    assert read_examples(path) == [Example("多少钱包邮吗", ("price", "shipping")), Example("好看", ("praise",))]


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    """A GBK file is refused with a clear reason."""
    path = tmp_path / "gbk.tsv"
    path.write_bytes("多少钱\tprice\n".encode("gbk"))
    with pytest.raises(LabelledDataError, match="not UTF-8"):
        read_examples(path)


def test_evaluate_known_answer() -> None:
    """Any gold label counts as right; per-label figures and the confusion matrix follow."""
    gold = [("price",), ("price", "shipping"), ("shipping",), ("stock",)]
    predicted = ["price", "shipping", "price", "stock"]
    report = evaluate(gold, predicted, ["price", "shipping", "stock"])
    assert report["accuracy"] == 0.75
    assert report["per_label"]["price"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}
    assert report["per_label"]["shipping"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert report["per_label"]["stock"]["f1"] == 1.0
    assert report["macro_f1"] == 0.7778
    assert report["confusion"] == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]


# ---- the real model on held-out data ----

@pytest.fixture(scope="module")
def default_classifier(real_embedder, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The default model trained from the repo's training files (never test.tsv) with the real embedder."""
    tmp = tmp_path_factory.mktemp("intents")
    store = Store(f"sqlite:///{tmp / 'm.db'}")
    try:
        return load_or_train(real_embedder, store, tmp)
    finally:
        store.close()


@pytest.mark.slow
def test_held_out_split_holds_its_measured_level(default_classifier) -> None:  # type: ignore[no-untyped-def]
    """On test.tsv (never trained or tuned on) macro-F1 stays at its measured level.

    Measured 0.9042 (2026-11-22, with train_extra.tsv; 0.8863 before it, 0.8741 before the sentiment
    columns, 0.8611 before train_more.tsv): the issue's target of 0.90 is met, narrowly. This floor,
    about 2 points under, only catches regressions; raise it when more training comments land.
    """
    examples = read_examples(DATA_DIR / TEST_FILE)
    preds = default_classifier.classify([ex.text for ex in examples])
    report = evaluate([ex.labels for ex in examples], [p.top for p in preds], default_classifier.labels)
    assert report["macro_f1"] >= 0.885, report


@pytest.mark.slow
def test_multi_intent_comment_gets_both_labels(default_classifier) -> None:  # type: ignore[no-untyped-def]
    """"多少钱包邮吗" is a price question and a shipping question."""
    (pred,) = default_classifier.classify(["多少钱包邮吗"])
    assert {"price", "shipping"} <= set(pred.intents)


@pytest.mark.slow
def test_complaint_versus_praise_on_unseen_reviews(default_classifier, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    """On real reviews from odd rows (never trained on), complaint vs praise is mostly right (measured 0.904 on 2,000, 0.913 without hotels)."""
    with (shared_data / "reviews" / "online_shopping_10_cats.csv").open(encoding="utf-8") as f:
        rows = [r for i, r in enumerate(csv.DictReader(f)) if i % 2 == 1 and r["cat"] != "酒店"]
    sample = random.Random(7).sample(rows, 300)
    scores = default_classifier.scores([r["review"].lstrip("\ufeff") for r in sample])
    ci, pi = default_classifier.labels.index("complaint"), default_classifier.labels.index("praise")
    predicted = np.where(scores[:, pi] > scores[:, ci], "1", "0")
    accuracy = float(np.mean(predicted == np.array([r["label"] for r in sample])))
    assert accuracy >= 0.85



def test_scoped_examples_train_only_their_labels() -> None:
    """A review labelled `complaint` (scope complaint/praise) is not taught as a negative for after_sales."""
    from assistant.head import train_head

    defects = [f"收到的东西坏了第{i}个" for i in range(10)]
    praise = [f"很好看很喜欢{i}" for i in range(10)]
    texts = [*defects, *praise, *defects]
    label_sets = [["after_sales"]] * 10 + [["praise"]] * 10 + [["complaint"]] * 10
    emb = HashingEmbedder(128).encode(texts)
    labels = ["after_sales", "complaint", "praise"]
    scoped, _ = train_head(emb, texts, label_sets, labels, scopes=[None] * 20 + [{"complaint", "praise"}] * 10)
    unscoped, _ = train_head(emb, texts, label_sets, labels)
    after_scoped = scoped.scores(emb[:10], defects)[:, 0]
    after_unscoped = unscoped.scores(emb[:10], defects)[:, 0]
    assert after_scoped.min() > 0.8 > after_unscoped.max()
