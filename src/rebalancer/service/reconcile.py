"""Crash recovery: resolve every unfinished run's orders against the exchange by client id.

Runs on every start and on `rebalancer reconcile`. Start-up and recovery share this one path
("crash-only"): nothing is re-sent; each order whose outcome the journal does not know is
looked up, its answer recorded, and the run closed with its reason. An order the exchange
cannot be asked about stays unresolved, and so does its run, so trading does not resume on a
false belief. A run whose writer is still running (its lock was lost, not its process) is
never touched: its requests may still be on their way, and only its writer knows; it counts as
unresolved until that process ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from rebalancer.domain.lifecycle import OrderStatus
from rebalancer.domain.reconcile import Seen, interrupted_run, resolved_status
from rebalancer.exchange.errors import ExchangeFailure
from rebalancer.exchange.port import ExchangeGateway, OrderReport, OrderState
from rebalancer.service.controls import Controls, ControlStore
from rebalancer.service.journal import Event, Journal, OrderUpdate, StoredOrder

Clock = Callable[[], datetime]
log = structlog.get_logger(__name__)

_SEEN = {
    OrderState.FILLED: Seen.FILLED,
    OrderState.PARTIALLY_FILLED: Seen.PARTIALLY_FILLED,
    OrderState.OPEN: Seen.OPEN,
    OrderState.CANCELED: Seen.CANCELED,
    OrderState.REJECTED: Seen.REJECTED,
    OrderState.EXPIRED: Seen.EXPIRED,
    OrderState.UNKNOWN: Seen.NO_ANSWER,
}


@dataclass(frozen=True, slots=True)
class Reconciliation:
    runs_closed: tuple[str, ...]
    orders_resolved: tuple[str, ...]
    unresolved: tuple[str, ...]  # client ids still of unknown outcome

    @property
    def clean(self) -> bool:
        return not self.unresolved


async def reconcile(
    portfolio: str, gateway: ExchangeGateway, journal: Journal, clock: Clock
) -> Reconciliation:
    closed: list[str] = []
    resolved: list[str] = []
    unresolved: list[str] = []
    for run in journal.unfinished_runs(portfolio):
        if run.writer_alive:
            held = [o.intent.client_id for o in journal.run_orders(run.run_id)]
            unresolved += held or [f"{run.run_id} (run of a live writer, no order yet)"]
            log.warning("run_left_to_live_writer", run_id=run.run_id, writer=run.writer)
            continue
        statuses: list[OrderStatus] = []
        for order in journal.run_orders(run.run_id):
            status = await _resolve(order, gateway, journal, clock)
            if status is not order.status:
                resolved.append(order.intent.client_id)
            if status.needs_resolution:
                unresolved.append(order.intent.client_id)
            statuses.append(status)
        verdict = interrupted_run(run.state, statuses)
        if verdict is None:
            continue
        journal.record_event(Event(run.run_id, clock(), "run_reconciled", verdict.reason))
        journal.advance_run(run.run_id, verdict.state, clock(), error=verdict.reason)
        closed.append(run.run_id)
        log.warning("run_reconciled", run_id=run.run_id, reason=verdict.reason)
    return Reconciliation(tuple(closed), tuple(resolved), tuple(unresolved))


async def reconcile_before_trading(
    portfolio: str,
    gateway: ExchangeGateway,
    journal: Journal,
    controls: ControlStore,
    clock: Clock,
    *,
    what: str,
) -> Reconciliation:
    """`reconcile`, and the circuit opened (persisted) when an order's outcome stays unknown:
    what a daemon start or a fleet job does before its first wake-up."""
    done = await reconcile(portfolio, gateway, journal, clock)
    if done.runs_closed:
        log.warning("runs_reconciled", runs=list(done.runs_closed))
    if not done.clean:
        reason = f"{what} left {len(done.unresolved)} order(s) unresolved"
        controls.save(portfolio, Controls(circuit_open=True, reason=reason, since=clock()))
        log.error("circuit_opened", reason=reason)
    return done


async def _resolve(
    order: StoredOrder, gateway: ExchangeGateway, journal: Journal, clock: Clock
) -> OrderStatus:
    if order.status.terminal:
        return order.status
    intent = order.intent
    try:
        report = await gateway.lookup_patiently(intent.instrument, intent.client_id)
    except ExchangeFailure as exc:
        log.warning("order_lookup_failed", client_id=intent.client_id, error=str(exc))
        return order.status
    seen = Seen.NOT_FOUND if report is None else _SEEN[report.state]
    new = resolved_status(order.status, seen)
    if new is None:
        return order.status
    journal.record_update(_update(intent.client_id, new, report, clock()))
    log.info("order_reconciled", client_id=intent.client_id, status=new.value)
    return new


def _update(
    client_id: str, status: OrderStatus, report: OrderReport | None, at: datetime
) -> OrderUpdate:
    if report is None:
        return OrderUpdate(client_id, status, at, error="not found on the exchange")
    return OrderUpdate(
        client_id=client_id,
        status=status,
        at=at,
        exchange_id=report.exchange_id,
        filled=report.filled,
        average_price=report.average_price,
        fee=report.fee,
        fee_currency=report.fee_currency,
        error=report.error,
    )
