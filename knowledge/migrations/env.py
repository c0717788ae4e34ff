"""Alembic environment: migrate the connection `Store.migrate()` hands over, else the configured URL.

The URL comes from `sqlalchemy.url` in the Alembic config, else `CUECARD_DATABASE_URL` through the
one `Settings` class (so `alembic -c knowledge/migrations/alembic.ini upgrade heads` works too).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import knowledge.store as store_module

config = context.config
target_metadata = store_module.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from api.settings import Settings

    return str(Settings().resolved_database_url)


def run_migrations_offline() -> None:
    """Emit SQL for the configured URL without connecting."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate over the given connection (from `Store.migrate`) or a fresh one."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url())
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata,
                          render_as_batch=conn.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
