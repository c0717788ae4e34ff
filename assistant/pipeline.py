"""The comment pipeline: normalise → classify → resolve the product → join a question group.

`CommentPipeline.process` is synchronous and CPU-bound (callers run it in a worker thread) and
takes a whole batch: live comments repeat heavily, so each distinct normalised text is classified
once (an LRU remembers recent ones) and every text the model must read goes to the encoder in
one call per batch. Unusable comments (empty, binary, invalid UTF-8, 10,000 characters) come out
as `spam` with a `rejected` reason; nothing a viewer types raises.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.groups import GROUPED_INTENTS, QuestionGroup, QuestionGroups
from assistant.intents import INTENTS, IntentClassifier, IntentPrediction, fast_path, load_or_train
from assistant.normalize import normalize, screen
from assistant.references import ReferenceResolver
from knowledge.embedder import Embedder
from knowledge.room import RoomState
from knowledge.store import Store, StoredComment

__all__ = ["INTENTS", "CommentAnalysis", "CommentPipeline", "QuestionGroup", "build_pipeline"]


@dataclass
class CommentAnalysis:
    """What the pipeline understood of one comment."""

    seq: int
    comment_id: str
    user_id: str
    text: str
    normalized: str
    ts: float
    intents: dict[str, float]  # every label over its threshold, with scores
    top_intent: str
    product_id: str | None  # resolved against the room's line-up / on-stage product
    group_id: str | None  # question group it joined (question-like intents only)
    rejected: str | None  # reason when the comment was unusable (empty, binary…); top_intent "spam"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for `Store.set_comment_analysis`, the API and the CLI)."""
        return asdict(self)


_ECHO_CHARS = 500  # how much of a flood comment an analysis repeats back
_Understood = tuple[IntentPrediction, np.ndarray | None]


class CommentPipeline:
    """Normalise, classify, resolve and group live comments, in batches; thread-safe."""

    def __init__(self, classifier: IntentClassifier, groups: QuestionGroups | None = None,
                 resolver: ReferenceResolver | None = None, cache_size: int = 50_000) -> None:
        self.classifier = classifier
        self.question_groups = groups or QuestionGroups()
        self.resolver = resolver or ReferenceResolver()
        self.cache_size = cache_size
        self._cache: OrderedDict[str, _Understood] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._group_lock = threading.Lock()
        self._resolved: dict[str, tuple[tuple[Any, ...], dict[tuple[str, str], str | None]]] = {}

    def set_classifier(self, classifier: IntentClassifier) -> None:
        """Swap in a retrained model; what was understood with the old one is forgotten."""
        with self._cache_lock:
            self.classifier = classifier
            self._cache.clear()

    def understand(self, normalized: Sequence[str]) -> list[_Understood]:
        """Intent (and, for grouped intents, the embedding) of distinct normalised texts, one encoder call."""
        found: dict[str, _Understood] = {}
        with self._cache_lock:
            classifier = self.classifier
            for text in normalized:
                hit = self._cache.get(text)
                if hit is not None:
                    self._cache.move_to_end(text)
                    found[text] = hit
        misses = [t for t in dict.fromkeys(normalized) if t not in found]
        if misses:
            fast = {t: fast_path(t) for t in misses}
            need_vector = [t for t, p in fast.items() if p is None or p.top in GROUPED_INTENTS]
            vectors = classifier.encode(need_vector) if need_vector else np.zeros((0, 0), np.float32)
            row = {t: i for i, t in enumerate(need_vector)}
            need_model = [t for t in need_vector if fast[t] is None]
            if need_model:
                modelled = classifier.predict_embedded(need_model, vectors[[row[t] for t in need_model]])
                fast.update(zip(need_model, modelled, strict=True))
            with self._cache_lock:
                for t in misses:
                    pred = fast[t]
                    assert pred is not None
                    found[t] = (pred, vectors[row[t]] if t in row else None)
                    if classifier is self.classifier and self.cache_size:
                        self._cache[t] = found[t]
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return [found[t] for t in normalized]

    def process(self, room: RoomState, comments: Sequence[StoredComment]) -> list[CommentAnalysis]:
        """Understand a batch of a room's comments, in order; never raises on what viewers typed."""
        cleaned = [screen(c.text) for c in comments]
        normalized = [normalize(text) if reason is None else "" for text, reason in cleaned]
        usable = [i for i, n in enumerate(normalized) if n]
        understood = dict(zip(usable, self.understand([normalized[i] for i in usable]), strict=True))
        out: list[CommentAnalysis] = []
        with self._group_lock:
            self.resolver.observe(room)
            resolved = self._resolved_memo(room)
            for i, comment in enumerate(comments):
                text, reason = cleaned[i]
                echo = text[:_ECHO_CHARS] if reason == "too_long" else text
                if i not in understood:
                    out.append(CommentAnalysis(comment.seq, comment.comment_id, comment.user_id, echo, "",
                                               float(comment.ts), {"spam": 1.0}, "spam", None, None,
                                               reason or "empty"))
                    continue
                pred, vector = understood[i]
                key = (normalized[i], pred.top)
                if key not in resolved:
                    resolved[key] = self.resolver.resolve(normalized[i], room, pred.top)
                product_id = resolved[key]
                group_id = None
                if vector is not None and pred.top in GROUPED_INTENTS:
                    group_id = self.question_groups.add(room.room_id, pred.top, normalized[i], vector,
                                                        float(comment.ts), product_id)
                out.append(CommentAnalysis(comment.seq, comment.comment_id, comment.user_id, echo, normalized[i],
                                           float(comment.ts), dict(pred.intents), pred.top, product_id, group_id,
                                           None))
        return out

    def _resolved_memo(self, room: RoomState) -> dict[tuple[str, str], str | None]:
        """Resolutions that hold while the room's line-up and stage are unchanged (repeats skip the resolver)."""
        state = (tuple(room.lineup_ids), room.on_stage, self.resolver.previous(room))
        cached = self._resolved.get(room.room_id)
        if cached is None or cached[0] != state or len(cached[1]) > self.cache_size:
            cached = (state, {})
            self._resolved[room.room_id] = cached
        return cached[1]

    def groups(self, room_id: str, now: float | None = None) -> list[QuestionGroup]:
        """Live groups of that room in the sliding window, biggest first."""
        return self.question_groups.groups(room_id, now)

    def named_product(self, question: str, room: Any) -> str | None:
        """The line-up product a raw question names ("2号链接", "耳机…"), or None."""
        return self.resolver.named(normalize(question), room)

    def room_interest(self, room_id: str, now: float | None = None) -> dict[str, float]:
        """Product id → share of the room's grouped questions about it (for recommendations)."""
        weights: dict[str, float] = {}
        for group in self.groups(room_id, now):
            for pid in group.product_ids:
                weights[pid] = weights.get(pid, 0.0) + group.count / len(group.product_ids)
        total = sum(weights.values())
        return {pid: round(w / total, 4) for pid, w in weights.items()} if total else {}


def build_pipeline(embedder: Embedder, store: Store, models_dir: Path, *, threshold: float = 0.5,
                   window_s: float = 120.0, similarity: float = 0.78) -> CommentPipeline:
    """The pipeline with the store's active intent model (trained from the repo's data at first use)."""
    classifier = load_or_train(embedder, store, Path(models_dir), threshold=threshold)
    return CommentPipeline(classifier, QuestionGroups(window_s=window_s, similarity=similarity))
