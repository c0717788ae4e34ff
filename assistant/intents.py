"""Intent classification of live comments: a fast path for trivial comments and spam patterns, and a
trained head on sentence embeddings (`assistant/head.py`) for everything else.

A comment may carry several intents ("多少钱包邮吗" is price and shipping): every label whose score
is over its threshold is returned, with the top one. Models are versioned under
`models_dir/intents/<version>/` and recorded in the store as kind `intent_head`; when none is
recorded for the embedder in use, a default one is trained from the repo's labelled comments.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.errors import IntentModelError, LabelledDataError
from assistant.head import HEAD_FORMAT, IntentHead, train_head
from assistant.labelled import Example, default_examples, default_training_files
from assistant.normalize import CLASSIFY_CHARS, normalize, screen
from assistant.sentiment import default_scorer
from knowledge.embedder import Embedder
from knowledge.store import Store

INTENTS = ("price", "promotion", "shipping", "stock", "product_info", "purchase", "after_sales",
           "complaint", "praise", "chitchat", "spam")
MODEL_KIND = "intent_head"
logger = logging.getLogger(__name__)
FAST_SCORE = 0.99

# Spam the model should never have to think about: links, phone numbers, contact handles, job ads.
_SPAM = re.compile(
    r"https?://|www\.|t\.cn/|[a-z0-9-]{2,}\.(?:com|cn|net|top|xyz|cc|vip|shop|link)(?![a-z])"
    r"|(?<!\d)1[3-9]\d{9}(?!\d)"
    r"|(?:微信|qq|tg|telegram|whatsapp)\s*(?:号)?\s*[:：]?\s*[a-z0-9_\-]{5,}"
    r"|加(?:我)?(?:微信|qq|好友)|日赚|刷单|兼职(?:招|日结)|代开发票|私我领"
    # Abuse aimed at the host or viewers is moderated like spam (anger at a product is a complaint).
    r"|傻逼|傻b|傻x|煞笔|(?<![a-z])(?:sb|nmsl|cnm|nmb)(?![a-z])|你妈的?|去死|死全家|全家死|脑残|^滚|滚出"
    # Off-platform trading and money scams.
    r"|闲鱼|转转|贷款|套现|办信用卡|稳赚|互关|互粉|看我主页|头像有惊喜|买号|卖号"
)
# Comments that carry no request at all: greetings, laughter, cheering. Exact matches on the normal form.
_CHITCHAT = {
    "来了", "来啦", "来了来了", "我来了", "主播好", "主播晚上好", "晚上好", "早上好", "中午好", "下午好",
    "大家好", "hello", "hi", "哈喽", "嗨", "哈哈", "呵呵", "嘿嘿", "报到", "打卡", "在吗", "在", "hello主播",
    "hi主播", "晚安", "666", "66", "6", "拜拜", "哈哈哈", "嗯嗯", "嗯", "哦", "好的", "ok",
}
_NO_WORDS = re.compile(r"^[^\w\u4e00-\u9fff]*$")  # emoji and punctuation only
# An emoji-only comment still says something: 👍 is praise, 👎 a complaint, 🧧 asks for the red packet.
_EMOJI_INTENT = {
    "praise": "👍💯❤♥😍🥰👏💕💖💗😘🤩🌟✨🙌💪",
    "complaint": "👎😡😠🤬💩🤮😤🙄😒😞😭💔",
    "promotion": "🧧🎁🎉🎊",
    "price": "💰💴💵¥",
    "purchase": "🛒",
}


@dataclass(frozen=True)
class IntentPrediction:
    """The labels over their thresholds (with scores), the top label, and which path decided."""

    top: str
    intents: dict[str, float]
    source: str  # "fast" | "model" | "rejected"


def fast_path(normalized: str) -> IntentPrediction | None:
    """Decide trivial comments and spam patterns without the model; None when the model must look."""
    if _SPAM.search(normalized):
        return IntentPrediction("spam", {"spam": FAST_SCORE}, "fast")
    stripped = normalized.strip(" ~!?.,。，！？")
    if _NO_WORDS.match(normalized):
        label = next((lab for lab, chars in _EMOJI_INTENT.items() if any(ch in chars for ch in normalized)),
                     "chitchat")
        return IntentPrediction(label, {label: FAST_SCORE}, "fast")
    if stripped in _CHITCHAT:
        return IntentPrediction("chitchat", {"chitchat": FAST_SCORE}, "fast")
    return None


class IntentClassifier:
    """Fast path + trained head, in batches: one encoder call per batch of comments."""

    def __init__(self, embedder: Embedder, head: IntentHead, version: str = "") -> None:
        self.embedder = embedder
        self.head = head
        self.version = version or str(head.meta.get("version", ""))

    @property
    def labels(self) -> list[str]:
        """Every label the head knows (the stable INTENTS, then any a shop added)."""
        return list(self.head.labels)

    def predict_embedded(self, normalized: Sequence[str], embeddings: np.ndarray) -> list[IntentPrediction]:
        """Run the head on normalised comments whose embeddings are already computed."""
        scores = self.head.scores(embeddings, [t[:CLASSIFY_CHARS] for t in normalized])
        out = []
        for row in scores:
            top = int(row.argmax())
            over = {self.head.labels[j]: round(float(row[j]), 4) for j in np.flatnonzero(row >= self.head.thresholds)}
            over.setdefault(self.head.labels[top], round(float(row[top]), 4))
            out.append(IntentPrediction(self.head.labels[top], dict(sorted(over.items(), key=lambda kv: -kv[1])),
                                        "model"))
        return out

    def encode(self, normalized: Sequence[str]) -> np.ndarray:
        """Embed normalised comments (cut to what the classifier reads) in one call."""
        return self.embedder.encode([t[:CLASSIFY_CHARS] for t in normalized])

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """The head's score for every label (columns in `labels` order), without fast path or thresholds."""
        normalized = [normalize(t)[:CLASSIFY_CHARS] for t in texts]
        return self.head.scores(self.encode(normalized), normalized)

    def classify_normalized(self, normalized: Sequence[str]) -> list[IntentPrediction]:
        """Classify normalised comments: fast path first, the rest through one encoder call."""
        out: list[IntentPrediction | None] = [fast_path(t) for t in normalized]
        todo = sorted({t for t, p in zip(normalized, out, strict=True) if p is None})
        if todo:
            by_text = dict(zip(todo, self.predict_embedded(todo, self.encode(todo)), strict=True))
            out = [p or by_text[t] for t, p in zip(normalized, out, strict=True)]
        return [p for p in out if p is not None]

    def classify(self, texts: Sequence[object]) -> list[IntentPrediction]:
        """Classify raw comments; unusable ones (empty, binary…) come back as `spam` with source "rejected"."""
        cleaned = [screen(t) for t in texts]
        normalized = [normalize(t) if reason is None else "" for t, reason in cleaned]
        usable = [i for i, (t, reason) in enumerate(cleaned) if reason is None and normalized[i]]
        preds = self.classify_normalized([normalized[i] for i in usable])
        out = [IntentPrediction("spam", {"spam": 1.0}, "rejected")] * len(texts)
        for i, pred in zip(usable, preds, strict=True):
            out[i] = pred
        return out


def prepare_examples(examples: Iterable[Example]) -> tuple[list[str], list[list[str]], list[set[str] | None]]:
    """Normalise training texts; merge the labels (and scopes) of examples that normalise to the same text."""
    merged: dict[str, list[str]] = {}
    scopes: dict[str, set[str] | None] = {}
    for ex in examples:
        text = normalize(ex.text)[:CLASSIFY_CHARS]
        if text:
            labels = merged.setdefault(text, [])
            labels.extend(lab for lab in ex.labels if lab not in labels)
            known = scopes.get(text, set())
            scopes[text] = None if ex.scope is None or known is None else known | set(ex.scope)
    return list(merged), list(merged.values()), [scopes[t] for t in merged]


def train_classifier(
    embedder: Embedder, examples: Sequence[Example], *, threshold: float = 0.5,
    progress: Callable[[str], None] | None = None,
) -> IntentClassifier:
    """Train a head on labelled examples (the stable INTENTS plus any new labels they bring)."""
    texts, label_sets, scopes = prepare_examples(examples)
    if len(texts) < 10:
        raise LabelledDataError(f"need at least 10 distinct labelled comments to train, got {len(texts)}")
    labels = list(dict.fromkeys([*INTENTS, *(lab for ls in label_sets for lab in ls)]))
    if progress:
        progress(f"embedding {len(texts)} comments")
    embeddings = embedder.encode(texts)
    head, metrics = train_head(embeddings, texts, label_sets, labels, scopes=scopes,
                               default_threshold=threshold, progress=progress)
    digest = hashlib.sha256("\n".join(f"{t}\t{'|'.join(ls)}" for t, ls in zip(texts, label_sets, strict=True))
                            .encode("utf-8")).hexdigest()
    version = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + digest[:8]
    head.meta.update({"version": version, "embedder": embedder.name, "created_at": time.time(),
                      "data_sha256": digest, "metrics": metrics})
    return IntentClassifier(embedder, head, version)


def save_classifier(classifier: IntentClassifier, models_dir: Path, store: Store | None = None,
                    metrics: dict[str, object] | None = None) -> Path:
    """Write the head under `models_dir/intents/<version>/` and record it as the active `intent_head`."""
    directory = Path(models_dir) / "intents" / classifier.version
    classifier.head.save(directory)
    if store is not None:
        store.record_model(MODEL_KIND, classifier.version, str(directory.resolve()),
                           {**dict(classifier.head.meta.get("metrics", {})), **(metrics or {}),
                            "embedder": classifier.head.meta.get("embedder")})
    return directory


def load_active(embedder: Embedder, store: Store) -> IntentClassifier | None:
    """The store's active intent model, if it was trained for this embedder; else None."""
    record = store.active_model(MODEL_KIND)
    if record is None:
        return None
    head = IntentHead.load(Path(record["path"]))
    if head.meta.get("embedder") != embedder.name or head.dim != embedder.dim:
        return None
    return IntentClassifier(embedder, head, record["version"])


def load_or_train(embedder: Embedder, store: Store, models_dir: Path, *, threshold: float = 0.5,
                  progress: Callable[[str], None] | None = None) -> IntentClassifier:
    """The active model for this embedder, or a default one trained now from the repo's labelled comments."""
    try:
        active = load_active(embedder, store)
    except IntentModelError:
        active = None  # a damaged model file: retrain rather than refuse to start
    if active is not None:
        return active
    files = default_training_files()
    if not files:
        raise IntentModelError("no intent model is recorded and the repo's labelled comments "
                               "(assistant/data/intents/train.tsv) are missing; run `cuecard intents train FILE.tsv`")
    cached = _default_cache(embedder, files, threshold)
    classifier = _load_cached(embedder, cached) if cached is not None else None
    if classifier is None:
        logger.info("no intent model recorded for embedder %s: training the default one from %s",
                    embedder.name, ", ".join(f.name for f in files))
        classifier = train_classifier(embedder, default_examples(), threshold=threshold, progress=progress)
        if cached is not None:
            try:
                classifier.head.save(cached)
            except OSError as exc:  # a read-only home only costs the next fresh data dir a retrain
                logger.warning("could not cache the default intent model in %s: %s", cached, exc)
    save_classifier(classifier, models_dir, store, {"trained_on": [f.name for f in files]})
    return classifier


def _default_cache(embedder: Embedder, files: Sequence[Path], threshold: float) -> Path | None:
    """Where the default model for exactly these inputs is cached across data directories.

    Training the default head takes ~45 s on two cores; every fresh data directory (a new shop, each
    test) would pay it again for the same result. The key covers everything the head depends on:
    the embedder, the head and sentiment formats, the threshold and every training file's bytes.
    `CUECARD_CACHE_DIR` moves the cache; an empty value turns it off.
    """
    root = os.environ.get("CUECARD_CACHE_DIR", str(Path.home() / ".cache" / "cuecard"))
    if not root:
        return None
    digest = hashlib.sha256()
    digest.update(f"{embedder.name}\x1f{embedder.dim}\x1f{HEAD_FORMAT}\x1f{threshold}".encode())
    digest.update(default_scorer().version.encode())
    for path in files:
        digest.update(path.name.encode() + b"\x1f" + path.read_bytes())
    return Path(root) / "intents" / digest.hexdigest()[:24]


def _load_cached(embedder: Embedder, directory: Path) -> IntentClassifier | None:
    """The cached default head, or None when there is none (or it cannot be read)."""
    if not (directory / "meta.json").is_file():
        return None
    try:
        head = IntentHead.load(directory)
    except IntentModelError as exc:
        logger.warning("ignoring the cached default intent model in %s: %s", directory, exc)
        return None
    logger.info("using the cached default intent model %s", directory)
    return IntentClassifier(embedder, head)
