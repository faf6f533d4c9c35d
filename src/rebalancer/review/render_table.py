"""History and run detail as rich tables, readable on a 100 to 160 column terminal.

Paper and dry-run runs are marked where the eye lands (the mode column, and a banner on
`show`), because a simulated or planned-only run must never be mistaken for real trading; the
figures of a run that placed nothing are the plan's, and the caption says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rebalancer.domain.plan import Side
from rebalancer.render.borrowing import borrowing_line
from rebalancer.render.numbers import fee as fee_text
from rebalancer.render.numbers import money, percent, points, price, quantity
from rebalancer.render.plan_table import carry_table
from rebalancer.review.records import HistoryRow, RunDetail

_MODE_STYLE = {"live": "bold", "paper": "bold yellow", "dry-run": "bold cyan"}
_STATE_STYLE = {"completed": "green", "failed": "bold red", "skipped": "dim"}
_CAPTION = (
    "PAPER: simulated fills on real prices. DRY-RUN: planned only, nothing placed "
    "(its figures are the plan's). Drift in weight points."
)


def _mode(mode: str) -> Text:
    return Text(mode.upper(), style=_MODE_STYLE.get(mode, "bold magenta"))


def _points(value: Decimal | None) -> str:
    return "" if value is None else points(value)


def _money(value: Decimal | None) -> str:
    return "" if value is None else money(value)


def _table(title: str, caption: str | None = None) -> Table:
    # No vertical rules and no outer padding: the columns that matter fit in 100 columns.
    return Table(
        title=title,
        title_justify="left",
        caption=caption,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )


def history_table(rows: Sequence[HistoryRow]) -> RenderableType:
    if not rows:
        return Text("No runs recorded yet.", style="bold")
    several = len({r.portfolio for r in rows}) > 1
    table = _table("Runs, newest first (UTC)", _CAPTION)
    table.add_column("started / run", overflow="fold", min_width=16)
    if several:
        table.add_column("portfolio", overflow="fold", max_width=14)
    table.add_column("trigger", overflow="fold")
    table.add_column("mode", no_wrap=True)
    table.add_column("state", no_wrap=True)
    for header in ("drift", "after", "orders", "notional", "fees"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in rows:
        first = Text(f"{row.started_at:%Y-%m-%d %H:%M}\n")
        first.append(row.run_id, style="dim")
        cells: list[str | Text] = [first]
        if several:
            cells.append(row.portfolio)
        state = row.state.value
        cells += [
            row.trigger.replace("_", " "),
            _mode(row.mode),
            Text(state, style=_STATE_STYLE.get(state, "")),
            _points(row.largest_drift_before),
            _points(row.largest_drift_after),
            "" if row.orders_count is None else str(row.orders_count),
            _money(row.notional_traded),
            _money(row.fees),
        ]
        table.add_row(*cells)
    return table


def run_view(detail: RunDetail) -> RenderableType:
    parts: list[RenderableType] = [_header(detail)]
    if detail.lines:
        parts.append(_lines(detail))
    if detail.orders:
        parts.append(_orders(detail))
    if detail.carry is not None and detail.carry.lines:
        parts.append(carry_table(detail.carry, detail.summary.quote or ""))
    if detail.events:
        parts.append(_events(detail))
    parts.append(_figures(detail))
    return Group(*parts)


def _header(detail: RunDetail) -> Text:
    run = detail.summary
    text = Text()
    text.append(f"Run {run.run_id}", style="bold")
    text.append(f"  portfolio {run.portfolio}  ")
    text.append_text(_mode(run.mode))
    text.append("  ")
    text.append(run.state.value, style=_STATE_STYLE.get(run.state.value, "bold"))
    text.append(f"\nstarted {run.started_at:%Y-%m-%d %H:%M:%S} UTC")
    if detail.finished_at is not None:
        text.append(f", finished {detail.finished_at:%Y-%m-%d %H:%M:%S} UTC")
    text.append(f"\ntrigger {run.trigger}: {detail.reason}")
    if run.mode == "dry-run":
        text.append("\nDRY RUN: the plan was recorded; no order was placed.", style="bold cyan")
    elif run.mode == "paper":
        text.append("\nPAPER: fills were simulated on real prices.", style="bold yellow")
    if detail.error:
        text.append(f"\nerror: {detail.error}", style="bold red")
    return text


def _lines(detail: RunDetail) -> Table:
    residual = {r.line: r.drift for r in detail.residual}
    table = _table("Plan lines (drift in weight points)")
    table.add_column("line", overflow="fold", max_width=18)
    for header in ("target", "drift", "hedge", "target hedge", "hedge after", "exp. drift"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("residual", justify="right", no_wrap=True)
    table.add_column("status")
    for line in detail.lines:
        res = residual.get(line.name)
        table.add_row(
            line.name,
            percent(line.target_weight),
            points(line.drift_before),
            money(line.hedge_before, signed=True),
            money(line.target_hedge, signed=True),
            money(line.hedge_after, signed=True),
            points(line.drift_after),
            "" if res is None else points(res),
            line.status.value.replace("_", " ")
            + "".join(f"\n  {reason}" for reason in line.reasons),
        )
    return table


def _orders(detail: RunDetail) -> Table:
    table = _table("Orders (in sending order; prices at the market's tick)")
    table.add_column("#", justify="right")
    table.add_column("client id", overflow="fold", max_width=24)
    table.add_column("instrument", overflow="fold")
    table.add_column("side")
    for header in ("amount", "filled", "avg price", "fee"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("status")
    snapshot = detail.before or detail.after
    for order in detail.orders:
        side = "sell" if order.side is Side.SELL else "buy"
        perp = snapshot.perps.get(order.instrument) if snapshot else None
        tick = perp.rules.price_step if perp else None
        fee = "" if order.fee is None else f"{fee_text(order.fee)} {order.fee_currency or ''}"
        status = order.status.value.replace("_", " ")
        if order.fills:
            status += f" ({len(order.fills)} fill{'s' if len(order.fills) > 1 else ''})"
        if order.error:
            status += f"\n{order.error}"
        table.add_row(
            str(order.leg + 1),
            order.client_id,
            order.instrument,
            side + (" RO" if order.reduce_only else ""),
            quantity(order.amount),
            quantity(order.filled),
            "" if order.average_price is None else price(order.average_price, tick),
            fee.strip(),
            status,
        )
    return table


def _events(detail: RunDetail) -> Table:
    table = _table("Events")
    table.add_column("at (UTC)", no_wrap=True)
    table.add_column("kind")
    table.add_column("message", overflow="fold")
    for event in detail.events:
        table.add_row(f"{event.at:%H:%M:%S.%f}"[:-3], event.kind, event.message)
    return table


def _figures(detail: RunDetail) -> Text:
    run = detail.summary
    text = Text()
    if run.largest_drift_before is not None and run.largest_drift_after is not None:
        text.append(
            f"Largest drift {points(run.largest_drift_before)}, expected after "
            f"{points(run.largest_drift_after)}"
        )
        residual = detail.largest_residual_drift
        text.append("" if residual is None else f", measured after {points(residual)}")
        text.append("\n")
    if run.notional_traded is not None:
        quote = run.quote or ""
        label = "Planned notional" if run.mode == "dry-run" else "Notional"
        text.append(f"{label} {money(run.notional_traded)} {quote}".rstrip())
        if run.fees is not None:
            text.append(f"; fees {money(run.fees)} {quote}".rstrip())
        text.append("\n")
    snapshot = detail.before or detail.after
    borrowed = None if snapshot is None else borrowing_line(snapshot.borrowing, snapshot.quote)
    if borrowed is not None:
        text.append(borrowed + "\n")
    for note in detail.notes:
        text.append(f"{note}\n", style="yellow")
    return text
