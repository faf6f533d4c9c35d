"""The terminal report: one rich table row per run, ranked by final value when asked."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rebalancer.backtest.metrics import Metrics
from rebalancer.backtest.summary import LABELS, display

RETURN_COLUMNS = (
    "final_value",
    "cagr",
    "volatility",
    "max_drawdown",
    "drift_mean",
    "drift_p95",
    "drift_max",
    "peak_leverage",
    "liquidations",
)
TRADING_COLUMNS = (
    "rebalances",
    "perp_traded",
    "spot_traded",
    "spot_sold",
    "costs",
    "funding_paid",
    "funding_received",
    "interest",
    "max_borrowed_share",
    "cap_bound_share",
    "rolls",
)


def render_table(
    rows: Sequence[tuple[str, Metrics]], *, title: str, notes: Sequence[str] = ()
) -> RenderableType:
    """`rows` are (run name, metrics) in the order to show them: two tables, same rows."""
    shown = [(name, display(metrics)) for name, metrics in rows]
    tail = Text()
    for note in notes:
        tail.append(f"note: {note}\n", style="yellow")
    return Group(
        _table(f"{title}: return, drift and risk", shown, RETURN_COLUMNS),
        _table("Trading, costs and collateral", shown, TRADING_COLUMNS),
        tail,
    )


def _table(title: str, rows: Sequence[tuple[str, dict[str, str]]], columns: Sequence[str]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("run", no_wrap=True)
    for key in columns:
        table.add_column(LABELS[key], justify="right")
    for rank, (name, shown) in enumerate(rows, start=1):
        table.add_row(str(rank), name, *(shown[key] for key in columns))
    return table
