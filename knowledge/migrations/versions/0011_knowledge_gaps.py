"""Knowledge gaps (issue 11): knowledge_gaps (handed-off questions grouped per room, answered into FAQs).

Revision ID: 0011
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

from knowledge import gaps
from knowledge.migrations import create_tables, drop_tables

revision = "0011"
down_revision = "0015"
branch_labels = None
depends_on = None

TABLES = (gaps.knowledge_gaps,)


def upgrade() -> None:
    """Create the gaps table."""
    create_tables(op, *TABLES)


def downgrade() -> None:
    """Drop the gaps table."""
    drop_tables(op, *TABLES)
