"""APScheduler 3 wiring: the calendar job and the drift-check job, both into one `Waker`.

Misfires are coalesced (a daemon that was asleep runs a missed calendar rebalance once, within
an hour's grace, not once per missed slot), and each job runs one instance at a time. The first
drift check runs at start-up.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from rebalancer.config import Settings
from rebalancer.daemon.wake import Waker
from rebalancer.domain.triggers import Wake

CALENDAR_GRACE = timedelta(hours=1)


def build_scheduler() -> AsyncIOScheduler:
    return AsyncIOScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1})


def schedule_jobs(scheduler: AsyncIOScheduler, waker: Waker, settings: Settings) -> None:
    """(Re)create the jobs from `settings`; used at start and on a config reload."""
    for job in scheduler.get_jobs():
        job.remove()
    schedule = settings.config.schedule
    if schedule.cron and schedule.trigger in ("calendar", "both"):
        scheduler.add_job(
            waker.wake,
            CronTrigger.from_crontab(schedule.cron, timezone=UTC),
            args=[Wake.CALENDAR],
            id="calendar",
            misfire_grace_time=int(CALENDAR_GRACE.total_seconds()),
        )
    # Drift checks also watch margin health, so they run whatever the trigger policy.
    scheduler.add_job(
        waker.wake,
        IntervalTrigger(seconds=schedule.drift_check_interval, timezone=UTC),
        args=[Wake.DRIFT_CHECK],
        id="drift_check",
        next_run_time=datetime.now(UTC),
        misfire_grace_time=max(1, int(schedule.drift_check_interval)),
    )


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
