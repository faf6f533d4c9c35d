"""The fleet on procrastinate: the wake-up task, the ticker and the stalled-job sweeper.

A wake-up job's `lock` is its portfolio (two jobs of one portfolio never run at once, on any
worker) and so is its `queueing_lock` (at most one waiting per portfolio). The ticker and the
sweeper are periodic tasks: procrastinate defers each once per period whatever the number of
workers. The sweeper hands back to the queue the jobs of workers whose heartbeat stopped (a
worker killed mid-job); the retried job starts with reconciliation (`runner`), so it never
sends an order twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import procrastinate
import structlog
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import text

from rebalancer.domain.triggers import Wake
from rebalancer.fleet.metrics import FleetMetrics
from rebalancer.fleet.runner import FleetRuntime, wake_portfolio
from rebalancer.fleet.schedule import tick
from rebalancer.store import Store, open_store
from rebalancer.store.engine import normalise_url

log = structlog.get_logger(__name__)
WAKE_TASK = "rebalancer.fleet.wake"
TICK_TASK = "rebalancer.fleet.tick"
SWEEP_TASK = "rebalancer.fleet.retry_stalled"


@dataclass(frozen=True, slots=True)
class FleetTiming:
    tick_seconds: int = 10  # how often due portfolios are looked for
    heartbeat_seconds: float = 10.0
    stalled_after_seconds: float = 30.0  # a worker silent this long is dead: retry its jobs


def conninfo(url: str) -> str:
    """The libpq URI procrastinate's connector takes, from the fleet's SQLAlchemy URL."""
    return normalise_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Fleet:
    """The procrastinate app bound to one fleet database, and this process's runtime."""

    url: str
    timing: FleetTiming = field(default_factory=FleetTiming)
    metrics: FleetMetrics | None = None
    app: procrastinate.App = field(init=False)
    _store: Store | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        connector = procrastinate.PsycopgConnector(conninfo=conninfo(self.url))
        self.app = procrastinate.App(connector=connector)
        self._register()

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.url)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    async def defer_wake(self, portfolio: str, kind: Wake) -> bool:
        """Queue a wake-up; False if one is already waiting for this portfolio."""
        task = self.app.configure_task(WAKE_TASK, lock=portfolio, queueing_lock=portfolio)
        try:
            await task.defer_async(portfolio=portfolio, kind=kind.value)
        except AlreadyEnqueued:
            return False
        return True

    def _register(self) -> None:
        app = self.app
        every = f"* * * * * */{self.timing.tick_seconds}"

        @app.task(name=WAKE_TASK)
        async def wake(portfolio: str, kind: str) -> None:
            runtime = FleetRuntime.open(self.url, self.store, self.metrics)
            await wake_portfolio(runtime, portfolio, Wake(kind))

        @app.periodic(cron=every, periodic_id="tick")
        @app.task(name=TICK_TASK, queueing_lock=TICK_TASK)
        async def ticker(timestamp: int) -> None:
            runtime = FleetRuntime.open(self.url, self.store)
            await tick(self.store, self.url, runtime.clock(), self.defer_wake)

        @app.periodic(cron=every, periodic_id="sweep")
        @app.task(name=SWEEP_TASK, queueing_lock=SWEEP_TASK)
        async def sweep(timestamp: int) -> None:
            stalled = await app.job_manager.get_stalled_jobs(
                seconds_since_heartbeat=self.timing.stalled_after_seconds
            )
            for job in stalled:
                log.warning("fleet_job_stalled", job_id=job.id, task=job.task_name, lock=job.lock)
                await app.job_manager.retry_job(job)

        del wake, ticker, sweep  # registered on the app

    def has_queue(self) -> bool:
        """Whether procrastinate's tables are there (`fleet init` made them)."""
        with self.store.read() as session:
            return bool(
                session.scalar(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL"))
            )

    async def ensure_schema(self) -> bool:
        """Apply procrastinate's schema if absent; True if it was applied now."""
        if self.has_queue():
            return False
        async with self.app.open_async():
            await self.app.schema_manager.apply_schema_async()
        return True

    async def run_worker(self, concurrency: int, *, name: str = "worker") -> None:
        async with self.app.open_async():
            await self.app.run_worker_async(
                concurrency=concurrency,
                name=name,
                update_heartbeat_interval=self.timing.heartbeat_seconds,
                stalled_worker_timeout=self.timing.stalled_after_seconds,
                delete_jobs="successful",
                fetch_job_polling_interval=1.0,
            )
