"""The overview: current against target weights from the last journaled snapshot.

The snapshot is the most recent run's (its post-trade one when there is one), valued with the
config's current targets the same way the planner and `rebalancer status` value it; margin
health and a unified account's borrowing come from the same snapshot. Nothing here reaches the
exchange; `rebalancer status --json` prints the same document for a snapshot it read live.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from rebalancer.config import Settings
from rebalancer.daemon.scheduler import next_calendar
from rebalancer.domain.exposure import Valuation, valuation
from rebalancer.domain.margin import margin_health
from rebalancer.domain.snapshot import Snapshot
from rebalancer.render.borrowing import borrowing_json
from rebalancer.render.numbers import json_money, json_weight, quantity
from rebalancer.review import history, history_to_dict
from rebalancer.review.queries import snapshots
from rebalancer.review.records import HistoryRow
from rebalancer.service.controls import Controls
from rebalancer.store.engine import Store
from rebalancer.store.tables import RunRow, SnapshotRow

OVERVIEW_FORMAT = "futures-rebalancer/overview@1"


@dataclass(frozen=True, slots=True)
class Latest:
    run_id: str
    phase: str
    snapshot: Snapshot


def latest_snapshot(store: Store, portfolio: str) -> Latest | None:
    """The newest run's snapshot ('after' sorts before 'before', so the post-trade one wins)."""
    query = (
        select(SnapshotRow.run_id, SnapshotRow.phase)
        .join(RunRow, RunRow.run_id == SnapshotRow.run_id)
        .where(RunRow.portfolio == portfolio)
        .order_by(RunRow.started_at.desc(), RunRow.run_id.desc(), SnapshotRow.phase)
        .limit(1)
    )
    with store.read() as session:
        found = session.execute(query).first()
    if found is None:
        return None
    run_id, phase = found
    return Latest(run_id, phase, snapshots(store, [run_id])[run_id, phase])


def trading_state(controls: Controls) -> str:
    if controls.halted:
        return "halted"
    return "circuit_open" if controls.circuit_open else "running"


def overview(store: Store, settings: Settings, controls: Controls, now: datetime) -> dict[str, Any]:
    portfolio = settings.config.portfolio.name
    latest = latest_snapshot(store, portfolio)
    last = history(store, portfolio=portfolio, limit=1)
    if latest is None:
        document = _document(settings, controls, now, last, None)
        document["problem"] = "no snapshot journaled yet; run a cycle first"
        return document
    return _document(
        settings, controls, now, last, latest.snapshot, run_id=latest.run_id, phase=latest.phase
    )


def live_overview(
    settings: Settings,
    snapshot: Snapshot,
    controls: Controls,
    now: datetime,
    last: Sequence[HistoryRow],
) -> dict[str, Any]:
    """The same document for a snapshot just read from the exchange (`status --json`):
    `snapshot.run_id` is null and its phase "live"."""
    return _document(settings, controls, now, last, snapshot)


def _document(
    settings: Settings,
    controls: Controls,
    now: datetime,
    last: Sequence[HistoryRow],
    snap: Snapshot | None,
    *,
    run_id: str | None = None,
    phase: str = "live",
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": OVERVIEW_FORMAT,
        "portfolio": settings.config.portfolio.name,
        "quote": settings.config.portfolio.quote,
        "snapshot": None,
        "problem": None,
        "equity": None,
        "lines": [],
        "cash": None,
        "unmanaged": [],
        "margin": None,
        "borrowing": None,  # null: segregated (borrows nothing) or no snapshot yet
        "trading": _trading(controls),
        "schedule": _schedule(settings, now),
        "last_run": history_to_dict(last)["runs"][0] if last else None,
    }
    if snap is None:
        return document
    document["snapshot"] = {"run_id": run_id, "phase": phase, "taken_at": _time(snap.taken_at)}
    document["margin"] = _margin(settings, snap)
    document["borrowing"] = borrowing_json(snap.borrowing)
    try:
        value = valuation(settings.strategy, snap)
    except ValueError as exc:  # equity not positive: nothing to weigh against
        document["problem"] = str(exc)
        return document
    document.update(_weights(settings, value))
    return document


def _weights(settings: Settings, value: Valuation) -> dict[str, Any]:
    band = settings.strategy.band
    equity = value.equity
    lines = []
    invested = sum((s.exposure for s in value.lines), equity * 0)
    for state in value.lines:
        drift = state.drift(equity)
        relative = state.relative_drift(equity)
        width = band.half_width(state.line.weight)
        lines.append(
            {
                "name": state.line.name,
                "target_weight": json_weight(state.line.weight),
                "weight": json_weight(state.exposure / equity),
                "drift": json_weight(drift),
                "relative_drift": None if relative is None else json_weight(relative),
                "band": None if width is None else json_weight(width),
                "outside_band": width is not None and abs(drift) > width,
                "spot_value": json_money(state.spot_value),
                "hedge": json_money(state.hedge),
                "target_hedge": json_money(state.target_hedge),
                "hedgeable": state.line.hedgeable,
            }
        )
    cash_weight = (equity - invested) / equity
    target_cash = settings.strategy.cash_weight
    return {
        "equity": json_money(equity),
        "lines": lines,
        "cash": {
            "target_weight": json_weight(target_cash),
            "weight": json_weight(cash_weight),
            "drift": json_weight(cash_weight - target_cash),
        },
        "unmanaged": list(value.unmanaged),
    }


def _margin(settings: Settings, snap: Snapshot) -> dict[str, Any]:
    safety = settings.config.safety
    health = margin_health(snap, safety.maintenance_margin_rate)
    return {
        "futures_equity": json_money(health.futures_equity),
        "gross": json_money(health.gross),
        "leverage": None if health.leverage is None else quantity(round(health.leverage, 6)),
        "max_leverage": quantity(settings.strategy.max_leverage),
        "maintenance": json_money(health.maintenance),
        "distance_to_liquidation": None
        if health.distance is None
        else json_weight(health.distance),
        "alert_distance": json_weight(safety.margin_alert_distance),
        "below_alert": health.below(safety.margin_alert_distance),
    }


def _trading(controls: Controls) -> dict[str, Any]:
    return {
        "state": trading_state(controls),
        "description": controls.describe(),
        "reason": controls.reason or None,
        "since": _time(controls.since),
        "consecutive_failures": controls.consecutive_failures,
    }


def _schedule(settings: Settings, now: datetime) -> dict[str, Any]:
    schedule = settings.config.schedule
    calendar = next_calendar(settings, now)
    return {
        "trigger": schedule.trigger,
        "drift_check_interval": str(timedelta(seconds=schedule.drift_check_interval)),
        "next_calendar": _time(calendar),
        "note": "wake-ups happen while the daemon runs",
    }


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")
