"""`fleet status`: one line per portfolio, from the fleet database alone (no exchange call).

Last run and drift come from the journal (the drift the last run left, or found when it placed
nothing), trading state from the controls, the next wake-up from the fleet's schedule, and
failures from the circuit breaker's count plus the portfolio's failed fleet jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import text

from rebalancer.fleet import registry
from rebalancer.review import history
from rebalancer.store import SqlControls, Store


@dataclass(frozen=True, slots=True)
class PortfolioStatus:
    name: str
    mode: str
    venue: str
    trading: str
    last_run: str | None  # "<run id> <trigger> -> <state>"
    last_run_at: datetime | None
    drift: Decimal | None  # largest drift, in weight points
    next_wake: datetime | None
    failures: int
    failed_jobs: int

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "mode": self.mode,
            "venue": self.venue,
            "trading": self.trading,
            "last_run": self.last_run,
            "last_run_at": None if self.last_run_at is None else self.last_run_at.isoformat(),
            "drift": None if self.drift is None else str(self.drift),
            "next_wake": None if self.next_wake is None else self.next_wake.isoformat(),
            "failures": self.failures,
            "failed_jobs": self.failed_jobs,
        }


def _failed_jobs(store: Store) -> dict[str, int]:
    query = text(
        "SELECT lock, count(*) FROM procrastinate_jobs WHERE status = 'failed' "
        "AND task_name = 'rebalancer.fleet.wake' GROUP BY lock"
    )
    with store.read() as session:
        present = session.scalar(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL"))
        if not present:
            return {}
        return {str(lock): int(count) for lock, count in session.execute(query)}


def fleet_status(store: Store) -> list[PortfolioStatus]:
    controls = SqlControls(store)
    failed = _failed_jobs(store)
    rows = []
    for entry in registry.listed(store):
        state = controls.load(entry.name)
        last = history(store, portfolio=entry.name, limit=1)
        run = last[0] if last else None
        drift = None
        if run is not None:
            drift = (
                run.largest_drift_after
                if run.largest_drift_after is not None
                else (run.largest_drift_before)
            )
        wakes = [t for t in (entry.next_drift_at, entry.next_calendar_at) if t is not None]
        rows.append(
            PortfolioStatus(
                name=entry.name,
                mode=entry.mode,
                venue=entry.venue,
                trading=state.describe(),
                last_run=None
                if run is None
                else f"{run.run_id} {run.trigger} -> {run.state.value}",
                last_run_at=None if run is None else run.started_at,
                drift=drift,
                next_wake=min(wakes) if wakes else None,
                failures=state.consecutive_failures,
                failed_jobs=failed.get(entry.name, 0),
            )
        )
    return rows
