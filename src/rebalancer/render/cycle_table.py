"""A cycle's outcome for a terminal: what was sent, what the exchange said, what drift is left."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rebalancer.exchange.port import OrderReport, OrderState
from rebalancer.render.numbers import money, points, quantity
from rebalancer.service.cycle import CycleResult

_STYLE = {OrderState.FILLED: "green", OrderState.REJECTED: "red", OrderState.UNKNOWN: "bold red"}


def render_cycle(result: CycleResult) -> RenderableType:
    parts: list[RenderableType] = []
    if result.reports:
        table = Table(title="Orders sent", title_justify="left")
        for header in (
            "client order id",
            "instrument",
            "state",
            "filled",
            "avg price",
            "fee",
            "note",
        ):
            table.add_column(
                header, justify="right" if header in ("filled", "avg price", "fee") else "left"
            )
        for r in result.reports:
            fee = _fee(r)
            table.add_row(
                r.client_id,
                r.instrument,
                Text(r.state.value, style=_STYLE.get(r.state, "")),
                quantity(r.filled),
                "" if r.average_price is None else money(r.average_price),
                fee,
                r.error or "",
            )
        parts.append(table)
    text = Text()
    if result.residual is not None:
        residual = result.residual
        text.append(
            f"After: gross hedge {money(residual.gross_before)}; largest drift "
            f"{points(residual.largest_drift_before)} "
            + ", ".join(f"{line.name} {points(line.drift_before)}" for line in residual.lines)
            + "\n"
        )
    for note in result.notes:
        text.append(f"note: {note}\n", style="yellow")
    if result.ok:
        text.append(f"Run {result.run_id} completed.\n", style="bold green")
    else:
        text.append(f"Run {result.run_id} FAILED: {result.error}\n", style="bold red")
    parts.append(text)
    return Group(*parts)


def _fee(report: OrderReport) -> str:
    """The fee in the quote as money; a fee charged in a coin (a spot buy's fee in what it
    bought, on Bybit and OKX) as that coin's amount, named: 0.0003887 ETH is not "0.00"."""
    if report.fee is None:
        return ""
    quote = report.instrument.split("/")[-1].split(":")[0]
    if report.fee_currency is not None and report.fee_currency != quote:
        return f"{quantity(report.fee)} {report.fee_currency}"
    return f"{money(report.fee)}{' est.' if report.fee_estimated else ''}"
