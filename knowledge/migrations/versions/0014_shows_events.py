"""Shows and their events (issue 14): shows, show_events, widget_events.

Revision ID: 0014
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

from knowledge import events as e
from knowledge import shows as s
from knowledge.migrations import create_tables, drop_tables

revision = "0014"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = (s.shows, s.show_events, e.widget_events)


def upgrade() -> None:
    """Create the show and widget-event tables."""
    create_tables(op, *TABLES)


def downgrade() -> None:
    """Drop the show and widget-event tables."""
    drop_tables(op, *TABLES)
