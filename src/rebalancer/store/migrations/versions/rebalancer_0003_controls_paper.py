"""Trading controls (kill switch, circuit breaker) and paper accounts.

Revision ID: rebalancer_0003
Revises: rebalancer_0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rebalancer.store.types import JsonText, UtcDateTime

revision = "rebalancer_0003"
down_revision: str | None = "rebalancer_0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "controls",
        sa.Column("portfolio", sa.String(64), nullable=False),
        sa.Column("halted", sa.Boolean(), nullable=False),
        sa.Column("circuit_open", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("portfolio", name="pk_controls"),
    )
    op.create_table(
        "paper_accounts",
        sa.Column("portfolio", sa.String(64), nullable=False),
        sa.Column("document", JsonText(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("portfolio", name="pk_paper_accounts"),
    )


def downgrade() -> None:
    op.drop_table("paper_accounts")
    op.drop_table("controls")
