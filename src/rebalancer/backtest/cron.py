"""Calendar wake-ups: the config's cron expression enumerated with APScheduler's `CronTrigger`,
mapped onto bars (a fire time is served by the first bar at or after it)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import numpy.typing as npt
from apscheduler.triggers.cron import CronTrigger

from rebalancer.backtest.data import to_time


def fire_bars(cron: str, timezone: str, times: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Bar indices (> 0, unique, ascending) at which the calendar schedule fires."""
    if len(times) < 2:
        return np.zeros(0, dtype=np.int64)
    trigger = CronTrigger.from_crontab(cron, timezone=timezone)
    start, end = to_time(times[0]), to_time(times[-1])
    fires: list[int] = []
    moment = trigger.get_next_fire_time(None, start + timedelta(seconds=1))
    while moment is not None and moment <= end:
        fires.append(int(moment.timestamp()))
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    bars = np.searchsorted(times, np.array(fires, dtype=np.int64), "left")
    return np.unique(bars[(bars > 0) & (bars < len(times))]).astype(np.int64)
