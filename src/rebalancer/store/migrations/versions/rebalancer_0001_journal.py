"""The journal: portfolios, runs, snapshots, plan lines, orders, fills and events.

Revision ID: rebalancer_0001
Revises:
Create Date: 2026-01-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rebalancer.store.types import ExactDecimal, JsonText, UtcDateTime

revision = "rebalancer_0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_RUN_STATES = "'started', 'snapshot', 'planned', 'executing', 'completed', 'failed', 'skipped'"
_ORDER_STATUSES = (
    "'submitting', 'accepted', 'partially_filled', 'filled', 'rejected', 'canceled', "
    "'expired', 'unknown', 'not_placed'"
)


def _run_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "portfolios",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_portfolios"),
    )
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("portfolio", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("strategy", JsonText(), nullable=False),
        sa.Column("quote", sa.String(16), nullable=True),
        sa.Column("plan", JsonText(), nullable=True),
        sa.Column("largest_drift_before", ExactDecimal(), nullable=True),
        sa.Column("largest_drift_after", ExactDecimal(), nullable=True),
        sa.Column("orders_count", sa.Integer(), nullable=True),
        sa.Column("notional_traded", ExactDecimal(), nullable=True),
        sa.Column("fees", ExactDecimal(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_runs"),
        sa.ForeignKeyConstraint(
            ["portfolio"], ["portfolios.name"], name="fk_runs_portfolio_portfolios"
        ),
        sa.CheckConstraint(f"state IN ({_RUN_STATES})", name="ck_runs_state"),
    )
    op.create_index("ix_runs_started_at", "runs", ["started_at", "run_id"])
    op.create_index("ix_runs_portfolio_started_at", "runs", ["portfolio", "started_at", "run_id"])
    op.create_index("ix_runs_portfolio_state", "runs", ["portfolio", "state"])
    op.create_table(
        "snapshots",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("phase", sa.String(8), nullable=False),
        sa.Column("taken_at", UtcDateTime(), nullable=False),
        sa.Column("document", JsonText(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "phase", name="pk_snapshots"),
        _named(_run_fk(), "fk_snapshots_run_id_runs"),
        sa.CheckConstraint("phase IN ('before', 'after')", name="ck_snapshots_phase"),
    )
    _create_plan_lines()
    _create_orders_and_fills()
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", JsonText(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        _named(_run_fk(), "fk_events_run_id_runs"),
    )
    op.create_index("ix_events_run_id_id", "events", ["run_id", "id"])


def _named(constraint: sa.ForeignKeyConstraint, name: str) -> sa.ForeignKeyConstraint:
    constraint.name = name
    return constraint


def _create_plan_lines() -> None:
    numbers = (
        "target_weight",
        "spot_value",
        "hedge_before",
        "drift_before",
        "target_hedge",
        "desired_hedge",
        "allowed_hedge",
        "hedge_after",
        "drift_after",
    )
    op.create_table(
        "plan_lines",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("assets", JsonText(), nullable=False),
        sa.Column("instruments", JsonText(), nullable=False),
        *(sa.Column(name, ExactDecimal(), nullable=False) for name in numbers),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reasons", JsonText(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "position", name="pk_plan_lines"),
        _named(_run_fk(), "fk_plan_lines_run_id_runs"),
    )


def _create_orders_and_fills() -> None:
    op.create_table(
        "orders",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("leg", sa.Integer(), nullable=False),
        sa.Column("line", sa.String(64), nullable=False),
        sa.Column("instrument", sa.String(64), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("mark", ExactDecimal(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exchange_id", sa.String(64), nullable=True),
        sa.Column("filled", ExactDecimal(), nullable=False),
        sa.Column("average_price", ExactDecimal(), nullable=True),
        sa.Column("fee", ExactDecimal(), nullable=True),
        sa.Column("fee_currency", sa.String(16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name="pk_orders"),
        _named(_run_fk(), "fk_orders_run_id_runs"),
        sa.CheckConstraint(f"status IN ({_ORDER_STATUSES})", name="ck_orders_status"),
        sa.CheckConstraint("side IN ('buy', 'sell')", name="ck_orders_side"),
    )
    op.create_index("ix_orders_run_id_leg", "orders", ["run_id", "leg"])
    op.create_table(
        "fills",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        sa.Column("price", ExactDecimal(), nullable=True),
        sa.Column("fee", ExactDecimal(), nullable=True),
        sa.Column("fee_currency", sa.String(16), nullable=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fills"),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["orders.client_id"],
            name="fk_fills_client_id_orders",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_fills_client_id_id", "fills", ["client_id", "id"])


def downgrade() -> None:
    for index, table in (
        ("ix_events_run_id_id", "events"),
        ("ix_fills_client_id_id", "fills"),
        ("ix_orders_run_id_leg", "orders"),
        ("ix_runs_portfolio_state", "runs"),
        ("ix_runs_portfolio_started_at", "runs"),
        ("ix_runs_started_at", "runs"),
    ):
        op.drop_index(index, table_name=table)
    for table in ("events", "fills", "orders", "plan_lines", "snapshots", "runs", "portfolios"):
        op.drop_table(table)
