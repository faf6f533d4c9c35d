"""The scheduled job: a shutdown that cancels a wake-up ends it with one event, no traceback."""

from __future__ import annotations

import asyncio

import structlog
from structlog.testing import capture_logs

from rebalancer.daemon.scheduler import wake_job
from rebalancer.domain.triggers import Wake


class _SlowWaker:
    async def wake(self, kind: Wake) -> None:
        await asyncio.sleep(60)


def test_a_wake_cancelled_by_shutdown_ends_quietly_as_one_event() -> None:
    async def scenario() -> object:
        job = asyncio.create_task(wake_job(_SlowWaker(), Wake.DRIFT_CHECK))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        job.cancel()
        return await job

    structlog.reset_defaults()
    with capture_logs() as events:
        assert asyncio.run(scenario()) is None
    assert [e["event"] for e in events] == ["wake_cancelled"]
    assert events[0]["kind"] == "drift_check"
