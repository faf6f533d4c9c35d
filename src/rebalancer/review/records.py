"""What the review queries return: typed, read-only views of the journal, free of the ORM.

Plan lines are the domain's own `PlanLine`; snapshots are the domain's `Snapshot`, rebuilt from
their stored document; everything else is a small frozen record of what was journaled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from rebalancer.domain.lifecycle import OrderStatus, RunState
from rebalancer.domain.plan import CarryFigures, PlanLine, Side
from rebalancer.domain.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One run in the history list. Figures are the plan's until orders were placed."""

    started_at: datetime
    run_id: str
    portfolio: str
    trigger: str
    mode: str
    state: RunState
    largest_drift_before: Decimal | None
    largest_drift_after: Decimal | None
    orders_count: int | None
    notional_traded: Decimal | None
    fees: Decimal | None
    quote: str | None


@dataclass(frozen=True, slots=True)
class FillView:
    quantity: Decimal
    price: Decimal | None
    fee: Decimal | None
    fee_currency: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class OrderView:
    client_id: str
    leg: int
    line: str
    instrument: str
    side: Side
    amount: Decimal
    reduce_only: bool
    mark: Decimal
    status: OrderStatus
    exchange_id: str | None
    filled: Decimal
    average_price: Decimal | None
    fee: Decimal | None
    fee_currency: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    fills: tuple[FillView, ...]


@dataclass(frozen=True, slots=True)
class EventView:
    at: datetime
    kind: str
    message: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ResidualDrift:
    """A line's drift as measured on the post-trade snapshot."""

    line: str
    target_weight: Decimal
    drift: Decimal


@dataclass(frozen=True, slots=True)
class RunDetail:
    """Everything journaled about one run."""

    summary: HistoryRow
    reason: str
    finished_at: datetime | None
    error: str | None
    strategy: Mapping[str, Any]
    before: Snapshot | None
    after: Snapshot | None
    lines: tuple[PlanLine, ...]
    notes: tuple[str, ...]
    orders: tuple[OrderView, ...]
    events: tuple[EventView, ...]
    residual: tuple[ResidualDrift, ...]
    carry: CarryFigures | None = None  # hedge or sell, as journaled with the plan

    @property
    def largest_residual_drift(self) -> Decimal | None:
        return max((abs(r.drift) for r in self.residual), default=None)
