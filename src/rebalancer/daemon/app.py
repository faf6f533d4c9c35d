"""The daemon's lifetime: reconcile, schedule, serve until a signal, stop cleanly.

SIGTERM/SIGINT stop scheduling at once, let a running cycle finish its current step for up to
`grace` seconds and then cancel it (intents are journaled before orders leave, so a cancelled
cycle leaves nothing unrecorded; the next start reconciles it), and return 0. SIGHUP reloads
the config: a bad file is logged and the old settings keep running. A daemon that lost its
writer lock to another process stops the same way and returns 3 (another writer).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from rebalancer.config import ConfigError, Settings
from rebalancer.daemon.scheduler import build_scheduler, next_wake, schedule_jobs
from rebalancer.daemon.wake import Waker
from rebalancer.notify import Notification, NotificationKind, Severity
from rebalancer.service.reconcile import reconcile_before_trading

log = structlog.get_logger(__name__)
Loader = Callable[[Path], Settings]
EXIT_GAVE_WAY = 3  # as for a second writer refused at start


async def serve(waker: Waker, config_path: Path, load: Loader, *, grace: float = 8.0) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    scheduler = build_scheduler()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    gave_way: list[str] = []

    def give_way(why: str) -> None:
        gave_way.append(why)
        stop.set()

    waker.give_way = give_way
    loop.add_signal_handler(signal.SIGHUP, lambda: _reload(waker, scheduler, config_path, load))
    portfolio = waker.portfolio
    await reconcile_before_trading(
        portfolio,
        waker.gateway,
        waker.journal,
        waker.controls,
        waker.clock,
        what="start-up reconciliation",
    )
    stopped = waker.controls.load(portfolio)
    if not stopped.trading_allowed:  # it watches and alerts, and places nothing until resumed
        log.warning("trading_stopped", reason=stopped.refusal())
    schedule_jobs(scheduler, waker, waker.settings)
    scheduler.start()
    log.info(
        "daemon_started", portfolio=portfolio, mode=waker.mode, next_wake=str(next_wake(scheduler))
    )
    waker.notifier.notify_in_background(
        Notification(
            NotificationKind.DAEMON_STARTED,
            portfolio,
            "Daemon started",
            f"{waker.mode} mode; {waker.controls.load(portfolio).describe()}",
            waker.clock(),
            severity=Severity.INFO,
        )
    )
    await stop.wait()
    log.info("daemon_stopping")
    # Pause, not shut down: shutting down the executor cancels a running cycle at once.
    scheduler.pause()
    await _let_cycle_finish(waker, grace)
    scheduler.shutdown(wait=False)  # cancels a cycle that outlived the grace period
    await _released(waker.lock, 1.0)  # let it unwind before the gateway closes under it
    waker.notifier.notify_in_background(
        Notification(
            NotificationKind.DAEMON_STOPPED,
            portfolio,
            "Daemon stopped",
            "stopped by a signal",
            waker.clock(),
            severity=Severity.INFO,
        )
    )
    await waker.notifier.drain(1.0)
    log.info("daemon_stopped", gave_way=bool(gave_way))
    return EXIT_GAVE_WAY if gave_way else 0


async def _let_cycle_finish(waker: Waker, grace: float) -> None:
    if not waker.lock.locked():
        return
    log.info("waiting_for_cycle", seconds=grace)
    if not await _released(waker.lock, grace):
        log.warning("cycle_abandoned", reason="did not finish within the grace period")


async def _released(lock: asyncio.Lock, seconds: float) -> bool:
    """Whether `lock` is free within `seconds` (taken and given back at once)."""
    if not lock.locked():
        return True
    try:
        async with asyncio.timeout(seconds):
            async with lock:
                return True
    except TimeoutError:
        return False


def _reload(waker: Waker, scheduler: AsyncIOScheduler, path: Path, load: Loader) -> None:
    try:
        settings = load(path)
    except ConfigError as exc:
        log.error("config_reload_failed", problems=exc.problems)
        return
    if settings.config.exchange != waker.settings.config.exchange:
        log.warning("config_reload_partial", reason="exchange settings change needs a restart")
    if settings.config.portfolio.name != waker.portfolio:
        log.error("config_reload_failed", problems=["portfolio.name cannot change while running"])
        return
    waker.settings = settings
    schedule_jobs(scheduler, waker, settings)
    log.info("config_reloaded", source=settings.source)
