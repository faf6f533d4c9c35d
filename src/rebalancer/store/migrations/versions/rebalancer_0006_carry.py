"""The carry ledger: funding payments and borrow-interest charges, and the gaps in them.

Revision ID: rebalancer_0006
Revises: rebalancer_0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rebalancer.store.types import ExactDecimal, UtcDateTime

revision = "rebalancer_0006"
down_revision: str | None = "rebalancer_0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "carry_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("portfolio", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("rate", ExactDecimal(), nullable=True),
        sa.Column("notional", ExactDecimal(), nullable=True),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('funding', 'interest')", name="ck_carry_entries_kind"),
        sa.PrimaryKeyConstraint("id", name="pk_carry_entries"),
        sa.UniqueConstraint(
            "portfolio", "source", "kind", "key", name="uq_carry_entries_portfolio_source_kind_key"
        ),
    )
    op.create_index("ix_carry_entries_portfolio_at", "carry_entries", ["portfolio", "at"])
    op.create_table(
        "carry_gaps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("portfolio", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("start", UtcDateTime(), nullable=False),
        sa.Column("end", UtcDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_carry_gaps"),
        sa.UniqueConstraint(
            "portfolio",
            "source",
            "subject",
            "start",
            name="uq_carry_gaps_portfolio_source_subject_start",
        ),
    )


def downgrade() -> None:
    op.drop_table("carry_gaps")
    op.drop_index("ix_carry_entries_portfolio_at", table_name="carry_entries")
    op.drop_table("carry_entries")
