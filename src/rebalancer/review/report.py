"""`rebalancer report`: the backtest's HTML report, drawn from what really happened.

The series come from the journal: each run's equity, largest drift (before, and after where the
orders were placed), gross hedge and leverage from its snapshots, and cumulative fees. Funding is
not journaled per payment, so that chart is left out and the page says so.
"""

from __future__ import annotations

from decimal import Decimal

from rebalancer.backtest.report_html import render_report
from rebalancer.backtest.summary import ReportSeries
from rebalancer.review.queries import history, snapshots
from rebalancer.store import Store

MAX_RUNS = 5_000


def journal_report(store: Store, portfolio: str, *, mode: str | None = None) -> str | None:
    """The HTML page for a portfolio's runs (oldest to newest), or None when there are none."""
    rows = list(reversed(history(store, portfolio=portfolio, limit=MAX_RUNS, mode=mode)))
    journaled = snapshots(store, [row.run_id for row in rows])
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
    states = [row.state.value for row in rows]
    traded = sum((r.notional_traded or Decimal(0) for r in rows), Decimal(0))
    metrics = {
        "runs": str(len(rows)),
        "completed": str(states.count("completed")),
        "failed": str(states.count("failed")),
        "orders": str(sum(row.orders_count or 0 for row in rows)),
        "notional traded": f"{traded:,.2f}",
        "fees": f"{fees:,.2f}",
        "equity first / last": f"{value[0]:,.2f} / {value[-1]:,.2f}",
    }
    series = ReportSeries(
        times=times,
        value=value,
        largest_drift=drift,
        hedge_notional=hedge,
        leverage=leverage,
        cumulative_costs=costs,
    )
    title = f"{portfolio}: what the bot did" + (f" ({mode})" if mode else "")
    notes = (
        "Funding is settled by the exchange and not journaled per payment; it shows in "
        "futures equity, not as its own chart.",
    )
    return render_report({portfolio: series}, {portfolio: metrics}, title, notes)
