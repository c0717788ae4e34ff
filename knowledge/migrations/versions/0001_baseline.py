"""Baseline: the schema as it stood before Alembic (rooms, products, kb_documents, comments,
purchases, model_versions, schema_version).

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import time

from alembic import op
from sqlalchemy import func, insert, select

from knowledge import store as s
from knowledge.migrations import create_tables, drop_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = (s.rooms, s.products, s.kb_documents, s.comments, s.purchases, s.model_versions, s.schema_version)


def upgrade() -> None:
    """Create the baseline tables (skipping any that a pre-Alembic database already has)."""
    create_tables(op, *TABLES)
    bind = op.get_bind()
    if not bind.execute(select(func.max(s.schema_version.c.version))).scalar():
        bind.execute(insert(s.schema_version).values(version=1, applied_at=time.time()))


def downgrade() -> None:
    """Drop the baseline tables."""
    drop_tables(op, *TABLES)
