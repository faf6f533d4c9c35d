"""The fleet's clock: which portfolios are due a drift check or a calendar rebalance now.

The ticker runs as a procrastinate periodic task, deferred once per period however many
workers run; it defers each due portfolio's wake-up and moves that portfolio's next times on.
A drift check already waiting (the portfolio's `queueing_lock`) counts as deferred; a calendar
rebalance that found one waiting stays due and is deferred at the next tick, never dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from rebalancer.config import ConfigError
from rebalancer.daemon.scheduler import next_calendar
from rebalancer.domain.triggers import Wake
from rebalancer.fleet import registry
from rebalancer.store import Store

log = structlog.get_logger(__name__)
Defer = Callable[[str, Wake], Awaitable[bool]]  # True if deferred, False if one was waiting


async def tick(store: Store, url: str, now: datetime, defer: Defer) -> list[tuple[str, Wake]]:
    """Defer every due wake-up; return those deferred."""
    deferred: list[tuple[str, Wake]] = []
    for entry in registry.listed(store):
        try:
            settings = entry.settings(url, {}, credentials=False)
        except ConfigError as exc:  # stored valid; a later release may read it differently
            log.error("fleet_config_refused", portfolio=entry.name, problems=exc.problems)
            continue
        interval = timedelta(seconds=settings.config.schedule.drift_check_interval)
        if entry.next_calendar_at is not None and entry.next_calendar_at <= now:
            if await defer(entry.name, Wake.CALENDAR):
                deferred.append((entry.name, Wake.CALENDAR))
                registry.reschedule(
                    store,
                    entry.name,
                    calendar_at=next_calendar(settings, now),
                    clear_calendar=True,
                    drift_at=now + interval,  # the calendar wake-up checks drift too
                )
            continue
        if entry.next_drift_at is None or entry.next_drift_at <= now:
            if await defer(entry.name, Wake.DRIFT_CHECK):
                deferred.append((entry.name, Wake.DRIFT_CHECK))
            registry.reschedule(store, entry.name, drift_at=now + interval)
    if deferred:
        log.info("fleet_ticked", deferred=len(deferred))
    return deferred
