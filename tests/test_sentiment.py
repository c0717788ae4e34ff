"""Sentiment scorer: shipped artefact (no pickle), known polarities, and the head's three columns."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from assistant.errors import IntentModelError
from assistant.head import N_CHAR_FEATURES, char_features
from assistant.normalize import normalize
from assistant.sentiment import DATA_DIR, FEATURE_SCALE, SentimentScorer, columns, default_scorer

NEGATIVE = ["质量太差了，穿一次就起球", "垃圾东西，退货", "完全是假货，气死了", "太难吃了，再也不买了",
            "物流慢得要死，包装都破了"]
POSITIVE = ["质量很好，非常喜欢", "好吃，还会回购的", "很漂亮，穿着很舒服", "物流很快，包装完好，满意",
            "性价比超高，推荐购买"]


def test_artefact_is_small_and_loads_without_pickle() -> None:
    """The npz holds only plain arrays (no object/pickled entries) and matches its meta.json."""
    path = DATA_DIR / "sentiment.npz"
    assert path.stat().st_size < 1_000_000
    with np.load(path, allow_pickle=False) as arrays:  # would raise on a pickled object array
        assert set(arrays.files) == {"weights", "bias"}
        assert arrays["weights"].dtype == np.float16
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["bias.npy", "weights.npy"]
    meta = json.loads((DATA_DIR / "meta.json").read_text(encoding="utf-8"))
    scorer = SentimentScorer.load()
    assert scorer.n_features == meta["n_features"] == N_CHAR_FEATURES
    assert scorer.version == meta["version"] and meta["odd_row_accuracy"] > 0.85


def test_clear_complaints_and_praise_get_opposite_signs() -> None:
    """Every clearly negative comment scores below zero and every clearly positive one above."""
    scores = default_scorer().score([*NEGATIVE, *POSITIVE])
    assert (scores[: len(NEGATIVE)] < 0).all(), scores
    assert (scores[len(NEGATIVE) :] > 0).all(), scores


def test_features_are_three_scaled_columns() -> None:
    """features() is (n, 3) float32: [s, max(s,0), min(s,0)] * scale, and empty input gives (0, 3)."""
    scorer = default_scorer()
    feats = scorer.features([NEGATIVE[0], POSITIVE[0]])
    s = scorer.score([NEGATIVE[0], POSITIVE[0]])
    assert feats.shape == (2, 3) and feats.dtype == np.float32
    np.testing.assert_allclose(feats[:, 0], s * FEATURE_SCALE, rtol=1e-6)
    assert feats[0, 1] == 0 and feats[0, 2] < 0 and feats[1, 1] > 0 and feats[1, 2] == 0
    assert scorer.features([]).shape == (0, 3)
    np.testing.assert_allclose(columns(np.array([2.0])), [[2 * FEATURE_SCALE, 2 * FEATURE_SCALE, 0]], rtol=1e-6)


def test_scores_from_the_heads_char_block_equal_scores_from_text() -> None:
    """The head passes its hashed char matrix in; that path gives the same scores as scoring the text."""
    scorer = default_scorer()
    normalized = [normalize(t) for t in [*NEGATIVE, *POSITIVE]]
    np.testing.assert_allclose(scorer.score_hashed(char_features(normalized)), scorer.score(normalized), rtol=1e-6)


def test_damaged_or_mismatched_artefact_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A missing file or weights that disagree with meta.json raise IntentModelError, not a crash."""
    with pytest.raises(IntentModelError, match="cannot read the sentiment model"):
        SentimentScorer.load(tmp_path)
    meta = json.loads((DATA_DIR / "meta.json").read_text(encoding="utf-8"))
    (tmp_path / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    np.savez_compressed(tmp_path / "sentiment.npz", weights=np.zeros(10, dtype=np.float16), bias=np.float32(0))
    with pytest.raises(IntentModelError, match="n_features"):
        SentimentScorer.load(tmp_path)
    with pytest.raises(IntentModelError, match="hashed features"):
        default_scorer().score_hashed(char_features(["好"])[:, :100])


def test_head_without_sentiment_columns_is_rejected_for_retraining(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A head saved before the sentiment columns (format 1) or for other sentiment weights must be retrained."""
    from assistant.head import HEAD_FORMAT, IntentHead, train_head
    from knowledge.embedder import HashingEmbedder

    texts = [*NEGATIVE, *POSITIVE] * 2
    emb = HashingEmbedder(64).encode(texts)
    head, _ = train_head(emb, texts, [["complaint"]] * 5 + [["praise"]] * 5 + [["complaint"]] * 5 + [["praise"]] * 5,
                         ["complaint", "praise"], folds=2)
    assert head.weights.shape == (2, 64 + 3 + N_CHAR_FEATURES)
    head.save(tmp_path)
    assert IntentHead.load(tmp_path).meta["sentiment_version"] == default_scorer().version
    meta = json.loads((tmp_path / "meta.json").read_text(encoding="utf-8"))
    for change in ({"format": HEAD_FORMAT - 1}, {"sentiment_version": "other"}):
        (tmp_path / "meta.json").write_text(json.dumps({**meta, **change}), encoding="utf-8")
        with pytest.raises(IntentModelError, match="retrain"):
            IntentHead.load(tmp_path)
