"""Fleet portfolios (configs as data, with their schedule) and shared per-venue rate budgets.

Revision ID: rebalancer_0005
Revises: rebalancer_0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rebalancer.store.types import ExactDecimal, JsonText, UtcDateTime

revision = "rebalancer_0005"
down_revision: str | None = "rebalancer_0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "fleet_portfolios",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("config", JsonText(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("added_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("next_drift_at", UtcDateTime(), nullable=True),
        sa.Column("next_calendar_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_fleet_portfolios"),
    )
    op.create_table(
        "fleet_rate_budgets",
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("per_seconds", ExactDecimal(), nullable=False),
        sa.PrimaryKeyConstraint("venue", name="pk_fleet_rate_budgets"),
    )
    op.create_table(
        "fleet_rate_spend",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fleet_rate_spend"),
    )
    op.create_index("ix_fleet_rate_spend_venue_at", "fleet_rate_spend", ["venue", "at"])


def downgrade() -> None:
    op.drop_index("ix_fleet_rate_spend_venue_at", table_name="fleet_rate_spend")
    op.drop_table("fleet_rate_spend")
    op.drop_table("fleet_rate_budgets")
    op.drop_table("fleet_portfolios")
