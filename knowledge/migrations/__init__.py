"""Alembic migrations for the store (the same revisions for SQLite and PostgreSQL).

`Store.migrate()` runs `upgrade heads` at start-up; `cuecard db upgrade` does it from the CLI.
A revision that adds a table defined on `knowledge.store.metadata` should create it with
`create_tables(op, table)`, which skips tables that already exist (a fresh database may have
been created from the metadata before the revision ran).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Table

HERE = Path(__file__).resolve().parent


def create_tables(op: Any, *tables: Table) -> None:
    """Create `tables` (and their indexes) on the migration's connection unless they exist."""
    bind = op.get_bind()
    for table in tables:
        table.create(bind, checkfirst=True)


def drop_tables(op: Any, *tables: Table) -> None:
    """Drop `tables` if they exist (for a revision's downgrade)."""
    bind = op.get_bind()
    for table in reversed(tables):
        table.drop(bind, checkfirst=True)
