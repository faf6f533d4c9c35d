"""`rebalancer report`: the backtest's HTML report, drawn from what really happened.

The series come from the journal: each run's equity, largest drift (before, and after where the
orders were placed), gross hedge and leverage from its snapshots, and cumulative fees. Live,
paper and dry-run runs are different accounts (or none), so each mode is its own series and
its own column of figures; `--mode` keeps one. Cumulative carry (funding payments and borrow
interest from the carry ledger: the venue's own records for live and dry-run, the simulated
account's settlements for paper) is drawn beside the fees, which always are.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from rebalancer.backtest.report_html import render_report
from rebalancer.backtest.summary import ReportSeries
from rebalancer.domain.ledger import CarryEntry
from rebalancer.domain.snapshot import Snapshot
from rebalancer.review.queries import history, snapshots
from rebalancer.review.records import HistoryRow
from rebalancer.store import SqlCarryLedger, Store

MAX_RUNS = 5_000
MODES = ("live", "paper", "dry-run")
NOTES = (
    "Carry (solid) is every funding payment and borrow-interest charge in the carry ledger, "
    "cumulative at each run; `rebalancer carry` breaks it down per hedge.",
)
DRY_RUN_NOTE = "dry-run runs place nothing: their fees are the plan's estimate."


def journal_report(store: Store, portfolio: str, *, mode: str | None = None) -> str | None:
    """The HTML page for a portfolio's runs (oldest to newest), or None when there are none."""
    rows = list(reversed(history(store, portfolio=portfolio, limit=MAX_RUNS, mode=mode)))
    journaled = snapshots(store, [row.run_id for row in rows])
    ledger = SqlCarryLedger(store).entries(portfolio)
    series: dict[str, ReportSeries] = {}
    metrics: dict[str, dict[str, str]] = {}
    for name in MODES:
        of_mode = [row for row in rows if row.mode == name]
        drawn = _series(of_mode, journaled)
        if drawn is not None:
            carry = [e for e in ledger if (e.source == "paper") == (name == "paper")]
            if carry:
                drawn = replace(drawn, cumulative_funding=_carry_at(carry, drawn.times))
            metrics[name] = _metrics(of_mode, drawn)
            if carry:
                total = sum((e.amount for e in carry), Decimal(0))
                metrics[name]["carry (funding + interest)"] = f"{total:,.2f}"
            series[name] = drawn
    if not series:
        return None
    title = f"{portfolio}: what the bot did" + (f" ({mode})" if mode else "")
    notes = NOTES + ((DRY_RUN_NOTE,) if "dry-run" in series else ())
    return render_report(series, metrics, title, notes)


def _series(
    rows: Sequence[HistoryRow], journaled: dict[tuple[str, str], Snapshot]
) -> ReportSeries | None:
    times, value, drift, hedge, leverage, costs = [], [], [], [], [], []
    fees = Decimal(0)
    for row in rows:
        snap = journaled.get((row.run_id, "after")) or journaled.get((row.run_id, "before"))
        if snap is None:
            continue
        fees += row.fees or Decimal(0)
        largest = row.largest_drift_after or row.largest_drift_before or Decimal(0)
        times.append(row.started_at)
        value.append(float(snap.equity))
        drift.append(float(largest))
        hedge.append(float(snap.gross_notional))
        equity = snap.futures_equity
        leverage.append(float(snap.gross_notional / equity) if equity > 0 else float("nan"))
        costs.append(float(fees))
    if not times:
        return None
    return ReportSeries(
        times=times,
        value=value,
        largest_drift=drift,
        hedge_notional=hedge,
        leverage=leverage,
        cumulative_costs=costs,
    )


def _carry_at(entries: Sequence[CarryEntry], times: Sequence[datetime]) -> list[float]:
    """The ledger's cumulative carry as it stood at each of `times`."""
    ordered = sorted(entries, key=lambda e: e.at)
    stamps = [e.at for e in ordered]
    running: list[Decimal] = []
    total = Decimal(0)
    for entry in ordered:
        total += entry.amount
        running.append(total)
    out = []
    for moment in times:
        k = bisect.bisect_right(stamps, moment)
        out.append(float(running[k - 1]) if k else 0.0)
    return out


def _metrics(rows: Sequence[HistoryRow], drawn: ReportSeries) -> dict[str, str]:
    states = [row.state.value for row in rows]
    traded = sum((r.notional_traded or Decimal(0) for r in rows), Decimal(0))
    fees = sum((r.fees or Decimal(0) for r in rows), Decimal(0))
    return {
        "runs": str(len(rows)),
        "completed": str(states.count("completed")),
        "failed": str(states.count("failed")),
        "orders": str(sum(row.orders_count or 0 for row in rows)),
        "notional traded": f"{traded:,.2f}",
        "fees": f"{fees:,.2f}",
        "equity first / last": f"{drawn.value[0]:,.2f} / {drawn.value[-1]:,.2f}",
    }
