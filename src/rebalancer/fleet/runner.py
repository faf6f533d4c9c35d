"""One fleet job: one portfolio's wake-up, exactly as the daemon runs it, behind its lease.

procrastinate delivers a job at least once (a worker that dies mid-job has its job retried
elsewhere), so the job itself is what makes a retry safe: it takes the portfolio's writer
lease (a dead worker's lease died with its database session), fences the journal with it (an
intent commits only while the lease holds), reconciles the runs a dead worker left open (its
orders are looked up by client id, never re-sent), and only then wakes: the daemon's own
`Waker`, with its trigger policy, margin watch, and refusal while halted or the circuit is open.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from rebalancer import bootstrap
from rebalancer.config import ConfigError, Mode
from rebalancer.daemon.wake import Waker
from rebalancer.domain.triggers import Wake
from rebalancer.fleet import registry
from rebalancer.fleet.budget import SharedBudget, budget_for, charge_requests
from rebalancer.fleet.metrics import FleetMetrics
from rebalancer.service.reconcile import reconcile_before_trading
from rebalancer.store import (
    SqlControls,
    SqlJournal,
    SqlPaperAccounts,
    Store,
    WriterLockHeld,
    acquire_writer_lock,
)

log = structlog.get_logger(__name__)
EGRESS_ENV = "REBALANCER_FLEET_EGRESS"  # names the egress IP whose rate budget a worker uses


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class JobResult:
    portfolio: str
    kind: str
    outcome: str  # "ran: <n> order(s)", "failed: <why>", "checked", "skipped: <why>"
    run_id: str | None = None


@dataclass
class FleetRuntime:
    """What a worker process shares between its jobs: the fleet database and the environment."""

    url: str
    store: Store
    env: Mapping[str, str]
    clock: Callable[[], datetime] = _now
    metrics: FleetMetrics | None = None

    @classmethod
    def open(cls, url: str, store: Store, metrics: FleetMetrics | None = None) -> FleetRuntime:
        return cls(url=url, store=store, env=dict(os.environ), metrics=metrics)


async def wake_portfolio(runtime: FleetRuntime, name: str, kind: Wake) -> JobResult:
    structlog.contextvars.bind_contextvars(portfolio=name, wake=kind.value)
    started = time.monotonic()
    try:
        result = await _wake(runtime, name, kind)
    except Exception as exc:
        if runtime.metrics is not None:
            runtime.metrics.job_done("error", time.monotonic() - started)
            runtime.metrics.errors.labels(type(exc).__name__).inc()
        raise
    finally:
        structlog.contextvars.unbind_contextvars("portfolio", "wake")
    if runtime.metrics is not None:
        runtime.metrics.job_done(result.outcome, time.monotonic() - started)
    return result


async def _wake(runtime: FleetRuntime, name: str, kind: Wake) -> JobResult:
    entry = registry.get(runtime.store, name)
    if entry is None:
        log.warning("fleet_portfolio_gone", reason="removed from the fleet")
        return JobResult(name, kind.value, "skipped: removed from the fleet")
    try:
        settings = entry.settings(runtime.url, runtime.env)
    except ConfigError as exc:
        log.error("fleet_config_refused", problems=exc.problems)
        return JobResult(name, kind.value, f"skipped: {'; '.join(exc.problems)}")
    mode = Mode(entry.mode)
    store = runtime.store
    journal = bootstrap.Journal(
        store, SqlJournal(store), SqlControls(store), SqlPaperAccounts(store)
    )
    try:
        with acquire_writer_lock(runtime.url, name) as lease:
            journal.journal.fence(lease)
            egress = runtime.env.get(EGRESS_ENV) or "default"
            budget = budget_for(store, entry.venue, egress)
            hook = None if budget is None else charge_requests(SharedBudget(store, budget))
            notifier = bootstrap.notifier(settings)
            try:
                gateway = bootstrap.exchange_gateway(settings, mode, journal, client_hook=hook)
            except BaseException:
                await notifier.aclose()
                raise
            try:
                await reconcile_before_trading(
                    name,
                    gateway,
                    journal.journal,
                    journal.controls,
                    runtime.clock,
                    what="reconciliation",
                )
                waker = Waker(
                    settings,
                    gateway=gateway,
                    journal=journal.journal,
                    controls=journal.controls,
                    notifier=notifier,
                    clock=runtime.clock,
                    mode=mode.value,
                    seat=lease,
                    carry=journal.carry,
                    metrics=None
                    if runtime.metrics is None
                    else runtime.metrics.for_portfolio(name),
                )
                outcome = await waker.wake(kind)
                await notifier.drain(1.0)
            finally:
                await notifier.aclose()
                await gateway.close()
    except WriterLockHeld as exc:
        log.warning("fleet_job_gave_way", reason=str(exc))
        return JobResult(name, kind.value, f"skipped: {exc}")
    run_id = outcome.cycle.run_id if outcome.cycle is not None else None
    if outcome.cycle is not None and outcome.skipped is None:
        cycle = outcome.cycle
        text = f"ran: {len(cycle.reports)} order(s)" if cycle.ok else f"failed: {cycle.error}"
    elif outcome.skipped is not None:
        text = f"skipped: {outcome.skipped}"
    else:
        text = "checked"
    log.info("fleet_job_done", outcome=text, run_id=run_id)
    return JobResult(name, kind.value, text, run_id)
