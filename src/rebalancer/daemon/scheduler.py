"""APScheduler 3 wiring: the calendar job and the drift-check job, both into one `Waker`.

Misfires are coalesced (a daemon that was asleep runs a missed calendar rebalance once, within
an hour's grace, not once per missed slot), and each job runs one instance at a time. The first
drift check runs at start-up. A wake-up cancelled by a shutdown (a signal landing as the job
starts) is logged as one event, not as APScheduler's traceback.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from rebalancer.config import Settings
from rebalancer.daemon.wake import WakeOutcome, Waker
from rebalancer.domain.triggers import Wake

CALENDAR_GRACE = timedelta(hours=1)
log = structlog.get_logger(__name__)


def build_scheduler() -> AsyncIOScheduler:
    return AsyncIOScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1})


def schedule_jobs(scheduler: AsyncIOScheduler, waker: Waker, settings: Settings) -> None:
    """(Re)create the jobs from `settings`; used at start and on a config reload."""
    for job in scheduler.get_jobs():
        job.remove()
    schedule = settings.config.schedule
    if schedule.cron and schedule.trigger in ("calendar", "both"):
        scheduler.add_job(
            wake_job,
            CronTrigger.from_crontab(schedule.cron, timezone=UTC),
            args=[waker, Wake.CALENDAR],
            id="calendar",
            misfire_grace_time=int(CALENDAR_GRACE.total_seconds()),
        )
    # Drift checks also watch margin health, so they run whatever the trigger policy.
    scheduler.add_job(
        wake_job,
        IntervalTrigger(seconds=schedule.drift_check_interval, timezone=UTC),
        args=[waker, Wake.DRIFT_CHECK],
        id="drift_check",
        next_run_time=datetime.now(UTC),
        misfire_grace_time=max(1, int(schedule.drift_check_interval)),
    )


async def wake_job(waker: Waker, kind: Wake) -> WakeOutcome | None:
    """The scheduled job: one wake-up; a shutdown's cancellation ends it quietly.

    The job is the top of its own task (APScheduler's executor made it), so ending it on
    `CancelledError` hides nothing from a caller; an interrupted cycle is left to
    reconciliation, as after a crash."""
    try:
        return await waker.wake(kind)
    except asyncio.CancelledError:
        log.warning("wake_cancelled", kind=kind.value, reason="the scheduler shut down")
        return None


def next_wake(scheduler: AsyncIOScheduler) -> datetime | None:
    times = [job.next_run_time for job in scheduler.get_jobs() if job.next_run_time]
    return min(times) if times else None


def next_calendar(settings: Settings, now: datetime) -> datetime | None:
    """When the calendar would next fire, for `status` (no scheduler needed)."""
    schedule = settings.config.schedule
    if not schedule.cron or schedule.trigger == "threshold":
        return None
    fire: datetime | None = CronTrigger.from_crontab(
        schedule.cron, timezone=UTC
    ).get_next_fire_time(None, now)
    return fire
