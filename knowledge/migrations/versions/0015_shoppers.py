"""Returning buyers (issue 15): shopper_links (platform user → shop user), returning_rooms (the per-room switch).

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

from assistant import returning as r
from knowledge.migrations import create_tables, drop_tables

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLES = (r.shopper_links, r.returning_rooms)


def upgrade() -> None:
    """Create the link and room-switch tables."""
    create_tables(op, *TABLES)


def downgrade() -> None:
    """Drop the link and room-switch tables."""
    drop_tables(op, *TABLES)
