"""Complaint tickets (issue 13): tickets.

Revision ID: 0013
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

from knowledge import tickets as t
from knowledge.migrations import create_tables, drop_tables

revision = "0013"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tickets table."""
    create_tables(op, t.tickets)


def downgrade() -> None:
    """Drop the tickets table."""
    drop_tables(op, t.tickets)
