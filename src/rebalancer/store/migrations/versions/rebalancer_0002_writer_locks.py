"""Who holds each portfolio's writer lock on PostgreSQL, for the message a second writer sees.

Revision ID: rebalancer_0002
Revises: rebalancer_0001
Create Date: 2026-01-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rebalancer.store.types import UtcDateTime

revision = "rebalancer_0002"
down_revision: str | None = "rebalancer_0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "writer_locks",
        sa.Column("portfolio", sa.String(64), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("portfolio", name="pk_writer_locks"),
    )


def downgrade() -> None:
    op.drop_table("writer_locks")
