"""The journal's tables as typed SQLAlchemy 2 ORM classes, kept apart from the domain.

These rows are persistence shapes only: `rows.py` maps domain values onto them and back, and
nothing outside `rebalancer.store` sees them. Constraint names follow one convention so that
Alembic can alter them on SQLite (batch mode recreates tables and needs the names). Indexes are
chosen for the review queries (newest runs first, per portfolio or overall) and for recovery
(unfinished runs of a portfolio).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import CheckConstraint, ForeignKey, Index, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from rebalancer.store.types import ExactDecimal, JsonText, UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RUN_STATES = ("started", "snapshot", "planned", "executing", "completed", "failed", "skipped")
ORDER_STATUSES = (
    "submitting",
    "accepted",
    "partially_filled",
    "filled",
    "rejected",
    "canceled",
    "expired",
    "unknown",
    "not_placed",
)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        Decimal: ExactDecimal,
        datetime: UtcDateTime,
        str: Text,
    }


class PortfolioRow(Base):
    __tablename__ = "portfolios"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime]


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(_one_of("state", RUN_STATES), name="state"),
        Index("ix_runs_started_at", "started_at", "run_id"),
        Index("ix_runs_portfolio_started_at", "portfolio", "started_at", "run_id"),
        Index("ix_runs_portfolio_state", "portfolio", "state"),
    )

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    portfolio: Mapped[str] = mapped_column(String(64), ForeignKey("portfolios.name"))
    mode: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str]
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None]
    strategy: Mapped[Any] = mapped_column(JsonText)
    quote: Mapped[str | None] = mapped_column(String(16))
    plan: Mapped[Any | None] = mapped_column(JsonText)  # the full plan as `plan_to_dict` writes it
    # Denormalised for `history`: set from the plan, then from the orders when the run ends.
    largest_drift_before: Mapped[Decimal | None]
    largest_drift_after: Mapped[Decimal | None]
    orders_count: Mapped[int | None]
    notional_traded: Mapped[Decimal | None]
    fees: Mapped[Decimal | None]
    # `<pid>@<host>` of the process that held the writer lock when the run started.
    writer: Mapped[str | None] = mapped_column(String(300))


class SnapshotRow(Base):
    __tablename__ = "snapshots"
    __table_args__ = (CheckConstraint("phase IN ('before', 'after')", name="phase"),)

    run_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    phase: Mapped[str] = mapped_column(String(8), primary_key=True)
    taken_at: Mapped[datetime]
    document: Mapped[Any] = mapped_column(JsonText)  # `snapshot_to_dict` form


class PlanLineRow(Base):
    __tablename__ = "plan_lines"

    run_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)  # order within the plan
    name: Mapped[str] = mapped_column(String(64))
    assets: Mapped[Any] = mapped_column(JsonText)
    instruments: Mapped[Any] = mapped_column(JsonText)
    target_weight: Mapped[Decimal]
    spot_value: Mapped[Decimal]
    hedge_before: Mapped[Decimal]
    drift_before: Mapped[Decimal]
    target_hedge: Mapped[Decimal]
    desired_hedge: Mapped[Decimal]
    allowed_hedge: Mapped[Decimal]
    hedge_after: Mapped[Decimal]
    drift_after: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[Any] = mapped_column(JsonText)


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(_one_of("status", ORDER_STATUSES), name="status"),
        CheckConstraint("side IN ('buy', 'sell')", name="side"),
        Index("ix_orders_run_id_leg", "run_id", "leg"),
    )

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), ForeignKey("runs.run_id", ondelete="CASCADE"))
    leg: Mapped[int]
    line: Mapped[str] = mapped_column(String(64))
    instrument: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    amount: Mapped[Decimal]
    reduce_only: Mapped[bool]
    mark: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(16))
    exchange_id: Mapped[str | None] = mapped_column(String(64))
    filled: Mapped[Decimal]
    average_price: Mapped[Decimal | None]
    fee: Mapped[Decimal | None]
    fee_currency: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FillRow(Base):
    """One increase of an order's cumulative filled amount."""

    __tablename__ = "fills"
    __table_args__ = (Index("ix_fills_client_id_id", "client_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("orders.client_id", ondelete="CASCADE")
    )
    quantity: Mapped[Decimal]  # contracts
    price: Mapped[Decimal | None]  # of this increment, from the change in the average price
    fee: Mapped[Decimal | None]
    fee_currency: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[datetime]


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_run_id_id", "run_id", "id"),
        Index("ix_events_kind_id", "kind", "id"),  # a portfolio's latest roll record
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), ForeignKey("runs.run_id", ondelete="CASCADE"))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64))
    message: Mapped[str]
    data: Mapped[Any] = mapped_column(JsonText)


class WriterLockRow(Base):
    """Who holds a portfolio's PostgreSQL writer lock (informational; the lock is advisory)."""

    __tablename__ = "writer_locks"

    portfolio: Mapped[str] = mapped_column(String(64), primary_key=True)
    pid: Mapped[int]
    host: Mapped[str] = mapped_column(String(255))
    since: Mapped[datetime]


class ControlsRow(Base):
    """A portfolio's kill switch and circuit breaker; they survive restarts."""

    __tablename__ = "controls"

    portfolio: Mapped[str] = mapped_column(String(64), primary_key=True)
    halted: Mapped[bool]
    circuit_open: Mapped[bool]
    reason: Mapped[str]
    consecutive_failures: Mapped[int]
    since: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class PaperAccountRow(Base):
    """A portfolio's simulated (paper) account, as one document, so a restart continues it."""

    __tablename__ = "paper_accounts"

    portfolio: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[Any] = mapped_column(JsonText)
    updated_at: Mapped[datetime]


class FleetPortfolioRow(Base):
    """A fleet portfolio's validated config (env var names only, never secret values) and its
    schedule: when the fleet's ticker next defers a drift check or a calendar rebalance."""

    __tablename__ = "fleet_portfolios"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    config: Mapped[Any] = mapped_column(JsonText)  # the TOML mapping, without `[storage]`
    source: Mapped[str]
    mode: Mapped[str] = mapped_column(String(16))
    venue: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    next_drift_at: Mapped[datetime | None]
    next_calendar_at: Mapped[datetime | None]


class FleetRateBudgetRow(Base):
    """A venue's request-weight budget shared by every worker of the fleet."""

    __tablename__ = "fleet_rate_budgets"

    venue: Mapped[str] = mapped_column(String(64), primary_key=True)
    weight: Mapped[int]
    per_seconds: Mapped[Decimal]


class FleetRateSpendRow(Base):
    """One request's weight, charged to its venue's budget before the request is sent."""

    __tablename__ = "fleet_rate_spend"
    __table_args__ = (Index("ix_fleet_rate_spend_venue_at", "venue", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    venue: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    weight: Mapped[int]


class CarryEntryRow(Base):
    """One funding payment or borrow-interest charge; the venue's key makes a re-read a no-op."""

    __tablename__ = "carry_entries"
    __table_args__ = (
        CheckConstraint("kind IN ('funding', 'interest')", name="kind"),
        UniqueConstraint("portfolio", "source", "kind", "key"),
        Index("ix_carry_entries_portfolio_at", "portfolio", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    portfolio: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))  # the venue's ccxt id, or "paper"
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(128))  # the venue's id (or subject@time ms)
    subject: Mapped[str] = mapped_column(String(64))  # perp (funding) or coin (interest)
    at: Mapped[datetime]
    amount: Mapped[Decimal]  # signed, quote: negative when the account paid
    rate: Mapped[Decimal | None]
    notional: Mapped[Decimal | None]  # position notional, or the borrowed amount
    recorded_at: Mapped[datetime]


class CarryGapRow(Base):
    """A window of carry the venue no longer returns (or did not return): never read as zero."""

    __tablename__ = "carry_gaps"
    __table_args__ = (UniqueConstraint("portfolio", "source", "subject", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    portfolio: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64))
    start: Mapped[datetime]
    end: Mapped[datetime]
    reason: Mapped[str]
    recorded_at: Mapped[datetime]
