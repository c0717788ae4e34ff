"""`cuecard db upgrade | heads | current`: the store's Alembic revisions, without starting a server."""

from __future__ import annotations

import typer
from rich.console import Console

from api.settings import Settings

app = typer.Typer(help="Database schema (Alembic revisions in knowledge/migrations).", no_args_is_help=True)
out = Console()


def _url() -> str:
    return str(Settings().resolved_database_url)


@app.command()
def upgrade() -> None:
    """Apply every missing revision to CUECARD_DATABASE_URL (what `cuecard serve` does at start-up)."""
    from api.services import build_store
    from knowledge.migrations.runner import current

    store = build_store(Settings())  # opening the store runs `upgrade heads`
    out.print(f"{store.engine.dialect.name}: at {sorted(current(store.engine))}")
    store.close()


@app.command()
def heads() -> None:
    """The head revisions (more than one: branches, which `upgrade` applies together)."""
    from knowledge.migrations.runner import heads as script_heads

    for head in script_heads():
        out.print(head)


@app.command()
def current() -> None:
    """The revisions the database is at."""
    from sqlalchemy import create_engine

    from knowledge.migrations.runner import current as db_current

    engine = create_engine(_url())
    out.print(sorted(db_current(engine)))
    engine.dispose()
