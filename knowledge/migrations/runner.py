"""Run the store's Alembic revisions from code (start-up, CLI, tests) without an alembic.ini."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from knowledge.migrations import HERE

# Two instances starting at once must not both run the same revision: PostgreSQL serialises them
# on this advisory lock (any constant; SQLite already takes one writer at a time).
_MIGRATION_LOCK = 7_1245_0012


def config(url: str | None = None) -> Config:
    """An Alembic config pointing at `knowledge/migrations` (and `url`, when given)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def heads() -> list[str]:
    """The head revisions; more than one means branches that `upgrade heads` applies together."""
    return list(ScriptDirectory.from_config(config()).get_heads())


def upgrade(engine: Engine, target: str = "heads") -> None:
    """Upgrade the database behind `engine` to `target` (every head by default)."""
    cfg = config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)


def current(engine: Engine) -> set[str]:
    """The revisions the database is at."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())
