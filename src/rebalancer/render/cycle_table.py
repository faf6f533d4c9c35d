"""A cycle's outcome for a terminal: what was sent, what the exchange said, what drift is left."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rebalancer.exchange.port import OrderState
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
            fee = "" if r.fee is None else f"{money(r.fee)}{' est.' if r.fee_estimated else ''}"
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
