"""The article library in the database (index/library_tables.py): the articles, and the library's
one row of state (revision 0, never seeded).

Revision ID: 0003
Revises: 0002
Created: the shared article library
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("date", sa.Text(), nullable=True),
        sa.Column("added", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
    )
    state = op.create_table(
        "library",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("seeded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name="library_one_row"),
    )
    op.bulk_insert(state, [{"id": 1, "revision": 0, "seeded_at": None}])


def downgrade() -> None:
    op.drop_table("library")
    op.drop_table("articles")
