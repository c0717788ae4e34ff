"""The `Recommender` interface every model implements, and its pickle-free persistence.

A model works on dense ids. It scores one user from that user's baskets (oldest first), so a user's
fresh purchases count at once without a retrain; `user` is the dense id the model was trained with,
or None for a user it never saw or whose history changed since (models with per-user state, such as
ALS factors, then recompute it from the baskets). Saved as `model.npz` (arrays only, loaded with
`allow_pickle=False`) beside `meta.json` (kind, format version, parameters).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from recsys.data import Interactions
from recsys.errors import ModelFormatError

FORMAT_VERSION = 1
History = Sequence[np.ndarray]  # one array of dense item ids per basket, oldest first
Arrays = dict[str, np.ndarray]
R = TypeVar("R", bound="Recommender")


def top_k(scores: np.ndarray, k: int, exclude: np.ndarray | None = None,
          likely: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The `k` best items by score, best first, leaving out `exclude` and items that scored -inf.

    `likely` (optional, distinct items expected near the top, such as the user's own purchases)
    only makes it faster: the k-th best of them is a floor no item of the answer is below, so
    one comparison over every item replaces a partition of every item. Ties are ordered by item id
    (at the cut as well when `likely` bounds the search; there a partition keeps any of them).
    """
    if exclude is not None and len(exclude):
        scores = scores.copy()
        scores[exclude] = -np.inf
    k = min(k, len(scores))
    if k <= 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    part = None
    if likely is not None and len(likely) >= k:
        floor = np.partition(scores[likely], len(likely) - k)[len(likely) - k]
        if np.isfinite(floor):
            part = np.flatnonzero(scores >= floor)  # at least the k likely ones: holds the answer
    if part is None:
        part = np.argpartition(-scores, k - 1)[:k]
    part = part[np.lexsort((part, -scores[part]))][:k]
    part = part[np.isfinite(scores[part])]
    return part, scores[part].astype(np.float32)


class Recommender(ABC):
    """Fit on purchase baskets; recommend for a user; find similar items; save and load without pickle."""

    kind: ClassVar[str]
    n_items: int = 0

    @abstractmethod
    def fit(self: R, data: Interactions) -> R:
        """Learn from every user's baskets; return self."""

    @abstractmethod
    def scores(self, user: int | None, history: History) -> np.ndarray:
        """A score for every item (float32, length `n_items`) for a user with this basket history."""

    @abstractmethod
    def similar_items(self, item: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The `k` items most like `item` (itself excluded), best first, with scores."""

    @abstractmethod
    def state(self) -> tuple[Arrays, dict[str, Any]]:
        """The arrays and JSON-able parameters that make up the fitted model."""

    @classmethod
    @abstractmethod
    def from_state(cls: type[R], arrays: Arrays, params: dict[str, Any]) -> R:
        """Rebuild a fitted model from `state()`."""

    def recommend(self, user: int | None, history: History, k: int = 10,
                  exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The user's `k` best items, best first, with scores; `exclude` items never come back."""
        return top_k(self.scores(user, history), k, exclude)

    def save(self, path: Path | str, extra: dict[str, Any] | None = None) -> Path:
        """Write `model.npz` and `meta.json` into directory `path` (created); return it."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        arrays, params = self.state()
        np.savez(path / "model.npz", **arrays)  # type: ignore[arg-type]  # numpy stubs type **kwds oddly
        meta = {"format_version": FORMAT_VERSION, "kind": self.kind, "params": params, **(extra or {})}
        (path / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        return path

    @classmethod
    def load(cls: type[R], path: Path | str) -> R:
        """Read a model written by `save` (never unpickles anything)."""
        meta = read_meta(path)
        if meta.get("kind") != cls.kind:
            raise ModelFormatError(f"{path} holds a {meta.get('kind')!r} model, not {cls.kind!r}")
        try:
            with np.load(Path(path) / "model.npz", allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError) as exc:
            raise ModelFormatError(f"cannot read {Path(path) / 'model.npz'}: {exc}") from exc
        return cls.from_state(arrays, meta["params"])


def read_meta(path: Path | str) -> dict[str, Any]:
    """A saved model's `meta.json`, checked for the format version this code reads."""
    file = Path(path) / "meta.json"
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFormatError(f"no readable recommender at {path} ({exc}); run `cuecard recsys train`") from exc
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(f"{file} is format {meta.get('format_version')}, this CueCard reads "
                               f"{FORMAT_VERSION}; retrain with `cuecard recsys train`")
    return meta


def prefixed(arrays: Arrays, prefix: str) -> Arrays:
    """The arrays whose names start with `prefix.`, without it (for models made of parts)."""
    p = prefix + "."
    return {k[len(p):]: v for k, v in arrays.items() if k.startswith(p)}
