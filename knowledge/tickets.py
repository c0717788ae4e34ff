"""Tickets as stored: one row per ticket (its public fields as JSON) on the shared `metadata`.

The board in `assistant/tickets.py` decides; this keeps what it decided so a restart or another
process can read it. A row's `version` is the board's, so a stale write can be detected in SQL too.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Column, Float, Integer, String, Table, Text, select

from knowledge.store import Store, metadata

tickets = Table(
    "tickets", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("room_id", String(200), nullable=False, index=True),
    Column("product_id", String(200), nullable=True),
    Column("kind", String(40), nullable=False),
    Column("level", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("opened_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("payload", Text, nullable=False),
)


class TicketStore:
    """Upserts and reads ticket rows through the shared Store's engine."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine
        tickets.create(self.engine, checkfirst=True)

    def save(self, rows: list[dict[str, Any]], now: float) -> None:
        """Write each ticket's public view (insert or replace by id), in one transaction."""
        with self.engine.begin() as conn:
            for row in rows:
                conn.execute(tickets.delete().where(tickets.c.id == row["id"]))
                conn.execute(tickets.insert().values(
                    id=row["id"], room_id=row["room"], product_id=row["product_id"], kind=row["kind"],
                    level=row["level"], status=row["status"], version=row["version"],
                    opened_at=row["opened_at"], updated_at=now, payload=json.dumps(row, ensure_ascii=False)))

    def load(self, room_id: str | None = None) -> list[dict[str, Any]]:
        """Stored ticket views, newest first (optionally of one room)."""
        query = select(tickets.c.payload).order_by(tickets.c.id.desc())
        if room_id is not None:
            query = query.where(tickets.c.room_id == room_id)
        with self.engine.connect() as conn:
            return [json.loads(r[0]) for r in conn.execute(query)]
