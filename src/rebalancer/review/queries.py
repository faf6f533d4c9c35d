"""History and show: read-only queries over the journal, answered as typed records.

`history` reads only the run table's review columns, newest first, through the
`(started_at, run_id)` index (or `(portfolio, started_at, run_id)` for one portfolio), so its
first page costs the same over a hundred runs or a hundred thousand. `show` gathers one run
whole: snapshots, plan lines, orders with their fills, events, and the residual drift.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from rebalancer.domain.lifecycle import OrderStatus, RunState
from rebalancer.domain.plan import LineStatus, PlanLine, Side
from rebalancer.domain.snapshot import Snapshot
from rebalancer.render.plan_json import carry_from_dict
from rebalancer.review.records import EventView, FillView, HistoryRow, OrderView, RunDetail
from rebalancer.review.residual import residual_drift
from rebalancer.snapshot_file import parse_snapshot
from rebalancer.store.engine import Store
from rebalancer.store.tables import EventRow, FillRow, OrderRow, PlanLineRow, RunRow, SnapshotRow

_HISTORY_COLUMNS = (
    RunRow.started_at,
    RunRow.run_id,
    RunRow.portfolio,
    RunRow.trigger,
    RunRow.mode,
    RunRow.state,
    RunRow.largest_drift_before,
    RunRow.largest_drift_after,
    RunRow.orders_count,
    RunRow.notional_traded,
    RunRow.fees,
    RunRow.quote,
)


def history(
    store: Store,
    *,
    portfolio: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
    mode: str | None = None,
) -> list[HistoryRow]:
    """Runs newest first (ties broken by run id), at most `limit` of them."""
    query = history_query(portfolio=portfolio, since=since, limit=limit, mode=mode)
    with store.read() as session:
        return [_history_row(row) for row in session.execute(query)]


def history_query(
    *,
    portfolio: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
    mode: str | None = None,
) -> Select[*tuple[Any, ...]]:
    """The statement behind `history` (exposed so tests can check its plan uses an index)."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    query = select(*_HISTORY_COLUMNS)
    if portfolio is not None:
        query = query.where(RunRow.portfolio == portfolio)
    if since is not None:
        query = query.where(RunRow.started_at >= since)
    if mode is not None:
        query = query.where(RunRow.mode == mode)
    return query.order_by(RunRow.started_at.desc(), RunRow.run_id.desc()).limit(limit)


def _history_row(row: Row[*tuple[Any, ...]] | RunRow) -> HistoryRow:
    return HistoryRow(
        started_at=row.started_at,
        run_id=row.run_id,
        portfolio=row.portfolio,
        trigger=row.trigger,
        mode=row.mode,
        state=RunState(row.state),
        largest_drift_before=row.largest_drift_before,
        largest_drift_after=row.largest_drift_after,
        orders_count=row.orders_count,
        notional_traded=row.notional_traded,
        fees=row.fees,
        quote=row.quote,
    )


def show(store: Store, run_id: str) -> RunDetail | None:
    """Everything journaled about one run, or None if there is no such run."""
    with store.read() as session:
        run = session.get(RunRow, run_id)
        if run is None:
            return None
        before, after = _snapshot(session, run_id, "before"), _snapshot(session, run_id, "after")
        lines = tuple(
            _plan_line(row)
            for row in session.scalars(
                select(PlanLineRow)
                .where(PlanLineRow.run_id == run_id)
                .order_by(PlanLineRow.position)
            )
        )
        plan = run.plan or {}
        return RunDetail(
            summary=_history_row(run),
            reason=run.reason,
            finished_at=run.finished_at,
            error=run.error,
            strategy=run.strategy,
            before=before,
            after=after,
            lines=lines,
            notes=tuple(str(n) for n in plan.get("notes", ())),
            orders=_orders(session, run_id),
            events=tuple(
                EventView(e.at, e.kind, e.message, e.data)
                for e in session.scalars(
                    select(EventRow).where(EventRow.run_id == run_id).order_by(EventRow.id)
                )
            ),
            residual=residual_drift(lines, before, after),
            carry=carry_from_dict(plan.get("hedge_or_sell")),
        )


def snapshots(store: Store, run_ids: Sequence[str]) -> dict[tuple[str, str], Snapshot]:
    """The journaled snapshots of many runs, keyed by (run id, phase), in few queries."""
    found: dict[tuple[str, str], Snapshot] = {}
    with store.read() as session:
        for start in range(0, len(run_ids), _CHUNK):
            chunk = run_ids[start : start + _CHUNK]
            rows = session.scalars(select(SnapshotRow).where(SnapshotRow.run_id.in_(chunk)))
            for row in rows:
                found[row.run_id, row.phase] = _parsed(row)
    return found


_CHUNK = 500  # ids per IN (...) list: well under SQLite's bound-parameter limit


def parsed_snapshot(row: SnapshotRow) -> Snapshot:
    """A journaled snapshot row as the domain value."""
    return _parsed(row)


def _parsed(row: SnapshotRow) -> Snapshot:
    # Decimals are strings in the document, so the JSON text round trip loses nothing.
    return parse_snapshot(json.dumps(row.document), f"run {row.run_id} {row.phase}")


def _snapshot(session: Session, run_id: str, phase: str) -> Snapshot | None:
    row = session.get(SnapshotRow, (run_id, phase))
    return None if row is None else _parsed(row)


def _plan_line(row: PlanLineRow) -> PlanLine:
    return PlanLine(
        name=row.name,
        assets=tuple(row.assets),
        instruments=tuple(row.instruments),
        target_weight=row.target_weight,
        spot_value=row.spot_value,
        hedge_before=row.hedge_before,
        drift_before=row.drift_before,
        target_hedge=row.target_hedge,
        desired_hedge=row.desired_hedge,
        allowed_hedge=row.allowed_hedge,
        hedge_after=row.hedge_after,
        drift_after=row.drift_after,
        status=LineStatus(row.status),
        reasons=tuple(row.reasons),
    )


def _orders(session: Session, run_id: str) -> tuple[OrderView, ...]:
    orders = session.scalars(
        select(OrderRow).where(OrderRow.run_id == run_id).order_by(OrderRow.leg, OrderRow.client_id)
    ).all()
    fills: dict[str, list[FillView]] = {o.client_id: [] for o in orders}
    query = (
        select(FillRow)
        .join(OrderRow, OrderRow.client_id == FillRow.client_id)
        .where(OrderRow.run_id == run_id)
        .order_by(FillRow.id)
    )
    for fill in session.scalars(query):
        fills[fill.client_id].append(
            FillView(fill.quantity, fill.price, fill.fee, fill.fee_currency, fill.at)
        )
    return tuple(_order(o, tuple(fills[o.client_id])) for o in orders)


def _order(row: OrderRow, fills: tuple[FillView, ...]) -> OrderView:
    return OrderView(
        client_id=row.client_id,
        leg=row.leg,
        line=row.line,
        instrument=row.instrument,
        side=Side(row.side),
        amount=row.amount,
        reduce_only=row.reduce_only,
        mark=row.mark,
        status=OrderStatus(row.status),
        exchange_id=row.exchange_id,
        filled=row.filled,
        average_price=row.average_price,
        fee=row.fee,
        fee_currency=row.fee_currency,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        fills=fills,
    )


__all__ = ["history", "show", "snapshots"]
