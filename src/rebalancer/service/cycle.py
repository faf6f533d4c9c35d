"""One rebalance cycle: snapshot -> plan -> execute -> post-trade snapshot, all journaled.

Modes: `live` places orders; `dry-run` reads the real account, plans and journals, and calls no
order, leverage or margin endpoint. Any failure ends the run FAILED with its reason; nothing is
retried blindly (the next cycle plans from the exchange's truth).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from rebalancer.config import Settings
from rebalancer.domain.lifecycle import RunState
from rebalancer.domain.plan import Plan
from rebalancer.domain.planner import PlanningError, plan
from rebalancer.domain.snapshot import Snapshot
from rebalancer.domain.strategy import Strategy
from rebalancer.exchange.errors import ExchangeFailure
from rebalancer.exchange.port import ExchangeGateway, OrderReport, OrderState
from rebalancer.service.executor import Execution, UnsafePlan, execute
from rebalancer.service.ids import new_run_id
from rebalancer.service.journal import Event, Journal, RunStart

Clock = Callable[[], datetime]
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CycleResult:
    run_id: str
    state: RunState
    plan: Plan | None = None
    before: Snapshot | None = None
    after: Snapshot | None = None
    residual: Plan | None = None  # the plan the post-trade snapshot would call for
    reports: tuple[OrderReport, ...] = ()
    error: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.state is RunState.COMPLETED


def instruments_of(strategy: Strategy) -> list[str]:
    """Every perp the strategy may trade: each asset's hedge and each group's index."""
    names = [h.instrument for h in strategy.hedges.values()]
    names += [g.index for g in strategy.groups if g.index]
    return sorted(set(names))


async def run_cycle(
    settings: Settings,
    gateway: ExchangeGateway,
    journal: Journal,
    clock: Clock,
    *,
    mode: str,
    trigger: str = "manual",
    reason: str = "requested by the user",
) -> CycleResult:
    strategy = settings.strategy
    portfolio = settings.config.portfolio
    run_id = new_run_id(clock())
    structlog.contextvars.bind_contextvars(run_id=run_id)
    journal.start_run(RunStart(run_id, portfolio.name, mode, trigger, reason, clock()))
    log.info("run_started", mode=mode, trigger=trigger, reason=reason)
    stage = RunState.STARTED
    before = planned = None
    try:
        instruments = instruments_of(strategy)
        assets = sorted(strategy.weights)
        before = await gateway.snapshot(assets, instruments, portfolio.off_exchange)
        journal.record_snapshot(run_id, before, phase="before")
        stage = _advance(journal, run_id, RunState.SNAPSHOT, clock)
        planned = plan(before, strategy)
        journal.record_plan(run_id, planned)
        stage = _advance(journal, run_id, RunState.PLANNED, clock)
        log.info("plan_made", orders=len(planned.orders), cap=planned.cap.value)
        if mode == "dry-run" or not planned.orders:
            note = "dry-run: nothing placed" if mode == "dry-run" else "nothing to trade"
            journal.record_event(Event(run_id, clock(), "run_completed", note))
            _advance(journal, run_id, RunState.COMPLETED, clock)
            return CycleResult(run_id, RunState.COMPLETED, planned, before, notes=(note,))
        stage = _advance(journal, run_id, RunState.EXECUTING, clock)
        traded = sorted({o.instrument for o in planned.orders})
        for change in await gateway.prepare(traded, settings.config.hedging.margin_mode):
            journal.record_event(Event(run_id, clock(), "instrument_prepared", change))
        execution = await execute(planned, run_id, gateway, journal, clock)
        after = await gateway.refresh_positions(before)
        journal.record_snapshot(run_id, after, phase="after")
        residual = plan(after, strategy)
        error = _execution_error(execution)
        if error is not None:
            _advance(journal, run_id, RunState.FAILED, clock, error=error)
            log.error("run_failed", error=error)
            return CycleResult(
                run_id, RunState.FAILED, planned, before, after, residual, execution.reports, error
            )
        _advance(journal, run_id, RunState.COMPLETED, clock)
        log.info("run_completed", orders=len(execution.reports))
        notes = ("increases withheld: see events",) if execution.withheld else ()
        return CycleResult(
            run_id,
            RunState.COMPLETED,
            planned,
            before,
            after,
            residual,
            execution.reports,
            notes=notes,
        )
    except (ExchangeFailure, PlanningError, UnsafePlan) as exc:
        error = f"{type(exc).__name__}: {exc}"
        if not stage.terminal:
            _advance(journal, run_id, RunState.FAILED, clock, error=error)
        log.error("run_failed", error=error)
        return CycleResult(run_id, RunState.FAILED, planned, before, error=error)
    finally:
        structlog.contextvars.unbind_contextvars("run_id")


def _execution_error(execution: Execution) -> str | None:
    """Why a cycle whose orders were sent did not rebalance, if it did not."""
    if execution.unresolved:
        return (
            f"{len(execution.unresolved)} order(s) with unknown outcome: "
            f"{', '.join(execution.unresolved)}; reconcile before trading again"
        )
    refused = [r for r in execution.reports if r.state is OrderState.REJECTED]
    if refused:
        return f"{len(refused)} order(s) rejected: " + "; ".join(
            f"{r.client_id} {r.error}" for r in refused
        )
    return None


def _advance(
    journal: Journal, run_id: str, state: RunState, clock: Clock, *, error: str | None = None
) -> RunState:
    journal.advance_run(run_id, state, clock(), error=error)
    return state
