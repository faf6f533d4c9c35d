"""A plan as rich tables for a terminal: lines, orders, and a summary that says why."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from rebalancer.domain.plan import CapState, CarryFigures, Plan, Side
from rebalancer.domain.snapshot import Borrowing
from rebalancer.render.borrowing import borrowing_line
from rebalancer.render.numbers import money, percent, points, quantity
from rebalancer.render.plan_json import CARRY_LABEL


def render_plan(plan: Plan, borrowing: Borrowing | None = None) -> RenderableType:
    """The plan; `borrowing` (the planned snapshot's, unified accounts only) under its equity."""
    parts: list[RenderableType] = [_lines(plan), _orders(plan)]
    if plan.carry is not None and plan.carry.lines:
        parts.append(carry_table(plan.carry, plan.quote))
    return Group(*parts, _summary(plan, borrowing))


def carry_table(carry: CarryFigures, quote: str) -> Table:
    """Hedge or sell per line: the hedge's projected carry beside the spot trade it replaces."""
    hours = carry.horizon_hours
    horizon = quantity(hours / 24) + "d" if hours % 24 == 0 else quantity(hours) + "h"
    table = Table(
        title=f"Hedge or sell over {horizon} ({quote}; {CARRY_LABEL})", title_justify="left"
    )
    for header in (
        "line",
        "hedge after",
        "funding",
        "interest",
        "carry",
        "spot trade instead",
        "fees+slippage",
        "realised gain",
    ):
        table.add_column(header, justify="left" if header == "line" else "right")
    for f in carry.lines:
        gain = "n/a" if f.realised_gain is None else money(f.realised_gain, signed=True)
        table.add_row(
            f"{f.line} (rolled)" if f.rolled else f.line,
            money(f.hedge, signed=True),
            money(f.funding, signed=True),
            money(f.interest),
            money(f.carry, signed=True),
            money(f.spot_trade, signed=True),
            money(f.spot_cost),
            gain,
            style="yellow" if f.carry_exceeds_sale else None,
        )
    table.caption = (
        "carry > 0 is paid; a spot trade < 0 sells; realised gain against portfolio.cost_basis "
        "(n/a: none given)"
    )
    if any(f.rolled for f in carry.lines):
        table.caption += (
            "; rolled: the roll policy closed that hedge and traded spot instead (its row is "
            "the projection it weighed)"
        )
    return table


def print_plan(plan: Plan, console: Console, borrowing: Borrowing | None = None) -> None:
    console.print(render_plan(plan, borrowing))


def _lines(plan: Plan) -> Table:
    table = Table(
        title=f"Plan at {plan.as_of:%Y-%m-%d %H:%M} UTC ({plan.quote})", title_justify="left"
    )
    for header in (
        "line",
        "target",
        "spot value",
        "hedge now",
        "drift now",
        "target hedge",
        "hedge after",
        "drift after",
        "status",
    ):
        table.add_column(header, justify="left" if header in ("line", "status") else "right")
    for line in plan.lines:
        status = line.status.value.replace("_", " ")
        table.add_row(
            line.name,
            percent(line.target_weight),
            money(line.spot_value),
            money(line.hedge_before, signed=True),
            points(line.drift_before),
            money(line.target_hedge, signed=True),
            money(line.hedge_after, signed=True),
            points(line.drift_after),
            status,
        )
    cash = plan.cash
    table.add_row(
        "cash",
        percent(cash.target_weight),
        money(cash.exposure_before),
        "",
        points(cash.drift_before),
        "",
        "",
        points(cash.drift_after),
        "residual",
        style="dim",
    )
    return table


def _orders(plan: Plan) -> RenderableType:
    if not plan.orders:
        return Text("No orders: nothing to trade.", style="bold")
    table = Table(title="Orders (sent in this sequence: reductions first)", title_justify="left")
    for header in ("#", "instrument", "side", "amount", "notional", "reduce-only", "position"):
        table.add_column(
            header, justify="right" if header in ("#", "amount", "notional") else "left"
        )
    for order in plan.orders:
        action = "short" if order.side is Side.SELL else "long"
        table.add_row(
            str(order.leg + 1),
            order.instrument,
            f"{order.side.value} ({action})",
            _amount(order.amount, order.base_quantity),
            money(order.notional),
            "yes" if order.reduce_only else "no",
            f"{quantity(order.position_before)} -> {quantity(order.position_after)}",
        )
    return table


def _amount(contracts: Decimal, base: Decimal) -> str:
    """The amount sent; where a contract is not one unit of the base (OKX swaps), both."""
    if contracts == base:
        return quantity(base)
    return f"{quantity(contracts)} ct = {quantity(base)}"


def _summary(plan: Plan, borrowing: Borrowing | None) -> Text:
    text = Text()
    lev = plan.leverage_after
    # Segregated: the collateral is the futures equity; unified: the exchange's value.
    unified = plan.collateral != plan.futures_equity
    k = "collateral" if unified else "futures equity"
    text.append(
        f"Equity {money(plan.equity)} {plan.quote}; {k} {money(plan.collateral)}; "
        f"gross hedge {money(plan.gross_before)} -> {money(plan.gross_after)}"
        + (f" ({lev:.2f}x of {k}, cap {plan.max_leverage}x)" if lev is not None else "")
        + "\n"
    )
    borrowed = borrowing_line(borrowing, plan.quote)
    if borrowed is not None:
        text.append(borrowed + "\n")
    text.append(
        f"Largest drift {points(plan.largest_drift_before)} -> {points(plan.largest_drift_after)}\n"
    )
    stressed = plan.borrowing
    if stressed is not None:
        limit = "no limit" if stressed.limit is None else f"limit {money(stressed.limit)}"
        text.append(
            f"Borrowing under a {percent(stressed.stress)} adverse move "
            f"{money(stressed.stressed_before)} -> {money(stressed.stressed_after)} "
            f"{plan.quote} ({limit}, hedging.max_borrow)\n"
        )
    if stressed is not None and stressed.binding:
        text.append(
            "Borrowing limit binds: the hedge increases were shrunk so that borrowing under the "
            "stress move stays within hedging.max_borrow (or no higher than now).\n",
            style="yellow",
        )
    elif plan.cap is CapState.BINDING:
        text.append(
            f"Leverage cap binds: a full rebalance needs {money(plan.required_collateral)} of "
            f"{k}, {money(plan.collateral_shortfall)} more than there is; hedges were "
            "allocated to make the largest drift as small as possible.\n",
            style="yellow",
        )
    elif plan.cap is CapState.OVER:
        how = "the plan de-levers first" if plan.orders else "nothing is placed (see the notes)"
        text.append(
            f"Account is over the leverage cap: {how}. A full rebalance needs "
            f"{money(plan.required_collateral)} of {k}.\n",
            style="red",
        )
    for line in plan.lines:
        for reason in line.reasons:
            text.append(f"{line.name}: {reason}\n", style="yellow")
    for skipped in plan.skipped:
        text.append(
            f"skipped {skipped.instrument} {quantity(skipped.base_quantity)} "
            f"({money(skipped.notional)}): {skipped.reason.value}\n",
            style="dim",
        )
    for note in plan.notes:
        text.append(f"note: {note}\n", style="yellow")
    return text
