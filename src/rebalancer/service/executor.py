"""Executing a plan: write-ahead journaling, reductions first, and a re-check of the cap.

Each phase's intents are committed before its requests leave, and each answer is committed as
it arrives. Increases are sent only once every reduction has a known outcome and the positions
the reductions actually left, plus the increases, still fit under the cap; otherwise they are
withheld and the plan's next cycle starts from the truth. The trading gate is checked before
each phase's intents are written: a halt between the phases withholds the increases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from rebalancer.domain.lifecycle import OrderStatus
from rebalancer.domain.plan import OrderIntent, Plan
from rebalancer.domain.roll import SpotOrder
from rebalancer.exchange.port import ExchangeGateway, OrderReport, OrderRequest, OrderState
from rebalancer.service.controls import TradingGate, TradingStopped
from rebalancer.service.crashpoints import crash_point, crash_soon
from rebalancer.service.journal import Event, Journal, OrderIntentRecord, OrderUpdate

Clock = Callable[[], datetime]
# A plan's gross may exceed the cap by at most this share of it (Decimal noise, never more).
_CAP_TOLERANCE = Decimal("1e-9")

STATUS_OF: dict[OrderState, OrderStatus] = {
    OrderState.FILLED: OrderStatus.FILLED,
    OrderState.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    OrderState.OPEN: OrderStatus.ACCEPTED,
    OrderState.CANCELED: OrderStatus.CANCELED,
    OrderState.REJECTED: OrderStatus.REJECTED,
    OrderState.EXPIRED: OrderStatus.EXPIRED,
    OrderState.UNKNOWN: OrderStatus.UNKNOWN,
}


class UnsafePlan(Exception):  # noqa: N818 - the plan is what is unsafe
    """The executor's own check refused the plan; nothing was sent."""


@dataclass(frozen=True, slots=True)
class Execution:
    reports: tuple[OrderReport, ...]
    withheld: tuple[str, ...]  # client ids of increases not sent, with the reason in events
    unresolved: tuple[str, ...]  # client ids whose outcome is still unknown
    stopped: str | None = None  # trading was stopped before the increases: why

    @property
    def complete(self) -> bool:
        return not self.unresolved


def check_plan(plan: Plan) -> None:
    """Refuse a plan whose orders would end over the cap or are out of sequence."""
    if plan.gross_after > plan.leverage_budget * (1 + _CAP_TOLERANCE) and (
        plan.gross_after > plan.gross_before
    ):
        raise UnsafePlan(
            f"gross after {plan.gross_after} exceeds the cap {plan.leverage_budget}; not sent"
        )
    seen_increase = False
    positions: dict[str, Decimal] = {}
    for order in plan.orders:
        if order.amount <= 0:
            raise UnsafePlan(f"leg {order.leg} has a non-positive amount; not sent")
        if order.reduce_only and seen_increase:
            raise UnsafePlan("a reduction follows an increase; not sent")
        seen_increase = seen_increase or not order.reduce_only
        # The cap re-check starts from each instrument's first position_before: the orders
        # of one instrument must chain from it, or that start is not the real position.
        before = positions.get(order.instrument, order.position_before)
        if (
            order.position_before != before
            or order.position_after != before + order.signed_quantity
        ):
            raise UnsafePlan(f"leg {order.leg} does not start where the last order left; not sent")
        positions[order.instrument] = order.position_after


async def execute(
    plan: Plan,
    run_id: str,
    gateway: ExchangeGateway,
    journal: Journal,
    clock: Clock,
    *,
    gate: TradingGate,
) -> Execution:
    """Send the plan's orders; raises `TradingStopped` (nothing sent) if stopped at the start."""
    check_plan(plan)
    reductions = [o for o in plan.orders if o.reduce_only]
    increases = [o for o in plan.orders if not o.reduce_only]
    gate.check()
    first = await _phase(reductions, run_id, gateway, journal, clock)
    unresolved = [r.client_id for r in first if r.state is OrderState.UNKNOWN]
    withheld: list[str] = []
    stopped: str | None = None
    reason = _withhold_reason(plan, reductions, first, increases, unresolved)
    if reason is None and increases:
        try:
            gate.check()
        except TradingStopped as exc:
            reason = stopped = str(exc)
    if reason and increases:
        withheld = [gateway.client_id(run_id, o.leg) for o in increases]
        journal.record_event(
            Event(run_id, clock(), "increases_withheld", reason, {"client_ids": withheld})
        )
        second: list[OrderReport] = []
    else:
        second = await _phase(increases, run_id, gateway, journal, clock)
    unresolved += [r.client_id for r in second if r.state is OrderState.UNKNOWN]
    return Execution(tuple(first + second), tuple(withheld), tuple(unresolved), stopped)


async def _phase(
    orders: Sequence[OrderIntent],
    run_id: str,
    gateway: ExchangeGateway,
    journal: Journal,
    clock: Clock,
) -> list[OrderReport]:
    if not orders:
        return []
    intents = [_intent(o, gateway.client_id(run_id, o.leg), run_id) for o in orders]
    crash_point("before_intents")
    journal.record_intents(intents, clock())  # committed before any request leaves
    crash_point("after_intents")
    requests = [
        OrderRequest(i.client_id, i.instrument, i.side, i.amount, i.reduce_only) for i in intents
    ]
    crash_soon("in_flight")
    reports = await gateway.place(requests)
    crash_point("after_answer")
    for report in reports:
        journal.record_update(update_from(report, clock()))
    crash_point("after_fill")
    return reports


async def execute_spot(
    orders: Sequence[SpotOrder],
    run_id: str,
    gateway: ExchangeGateway,
    journal: Journal,
    clock: Clock,
    *,
    gate: TradingGate,
) -> list[OrderReport]:
    """A roll's spot orders, after its hedge closed: the gate checked, every intent committed
    before the first request leaves, each answer committed as it arrives (one order at a time:
    a sale funds the purchases after it). Raises `TradingStopped` (nothing sent) if stopped."""
    if not orders:
        return []
    gate.check()
    intents = [
        OrderIntentRecord(
            client_id=gateway.client_id(run_id, o.leg),
            run_id=run_id,
            leg=o.leg,
            line=o.line,
            instrument=o.symbol,
            side=o.side,
            amount=o.quantity,
            reduce_only=False,
            mark=o.price,
        )
        for o in orders
    ]
    crash_point("before_spot_intents")
    journal.record_intents(intents, clock())
    crash_point("after_spot_intents")
    reports = []
    crash_soon("spot_in_flight")
    for i in intents:
        request = OrderRequest(i.client_id, i.instrument, i.side, i.amount, reduce_only=False)
        report = await gateway.place_spot(request)
        journal.record_update(update_from(report, clock()))
        reports.append(report)
    crash_point("after_spot_fill")
    return reports


def _intent(order: OrderIntent, client_id: str, run_id: str) -> OrderIntentRecord:
    return OrderIntentRecord(
        client_id=client_id,
        run_id=run_id,
        leg=order.leg,
        line=order.line,
        instrument=order.instrument,
        side=order.side,
        amount=order.amount,
        reduce_only=order.reduce_only,
        mark=order.mark,
    )


def update_from(report: OrderReport, at: datetime) -> OrderUpdate:
    return OrderUpdate(
        client_id=report.client_id,
        status=STATUS_OF[report.state],
        at=at,
        exchange_id=report.exchange_id,
        filled=report.filled,
        average_price=report.average_price,
        fee=report.fee,
        fee_currency=report.fee_currency,
        error=report.error,
    )


def _withhold_reason(
    plan: Plan,
    reductions: Sequence[OrderIntent],
    done: Sequence[OrderReport],
    increases: Sequence[OrderIntent],
    unresolved: Sequence[str],
) -> str | None:
    """Why the increases must not be sent after these reductions, if they must not."""
    if unresolved:
        return f"{len(unresolved)} reduction(s) have an unknown outcome; increases not sent"
    positions: dict[str, Decimal] = {}
    marks: dict[str, Decimal] = {}
    for order in plan.orders:  # the first order of an instrument carries its current position
        positions.setdefault(order.instrument, order.position_before)
        marks[order.instrument] = order.mark
    traded_before = sum((abs(q) * marks[s] for s, q in positions.items()), Decimal(0))
    for order, report in zip(reductions, done, strict=True):
        executed = report.filled * (order.base_quantity / order.amount)
        positions[order.instrument] += executed if order.signed_quantity > 0 else -executed
    for order in increases:
        positions[order.instrument] += order.signed_quantity
    gross = plan.gross_before - traded_before
    gross += sum((abs(q) * marks[s] for s, q in positions.items()), Decimal(0))
    if gross > plan.leverage_budget * (1 + _CAP_TOLERANCE) and gross > plan.gross_before:
        return (
            f"reductions filled short: the increases would take gross to {gross:.2f}, over the "
            f"cap {plan.leverage_budget:.2f}; not sent"
        )
    return None
