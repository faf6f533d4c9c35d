"""The fleet's ticker: due portfolios are deferred once and their next times move on; a
calendar rebalance that finds a wake-up already waiting stays due instead of being dropped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from rebalancer.domain.triggers import Wake
from rebalancer.fleet import registry
from rebalancer.fleet.schedule import tick
from rebalancer.store import Store
from tests.integration.harness import ENV

NOW = datetime(2026, 3, 31, 23, 0, tzinfo=UTC)


def _raw(name: str, cron: str | None) -> dict[str, object]:
    schedule: dict[str, object] = {"drift_check_interval": 600}
    if cron is None:
        schedule["trigger"] = "threshold"  # drift checks only, no calendar
    else:
        schedule["cron"] = cron
    return {
        "mode": "paper",
        "portfolio": {"name": name, "targets": {"BTC": "1/2", "ETH": "1/3", "cash": "1/6"}},
        "paper": {"spot": {"BTC": "0.1"}, "futures_wallet": "2000"},
        "schedule": schedule,
        "exchange": {"id": "binance"},
    }


class Queue:
    def __init__(self, *, full: bool = False) -> None:
        self.full = full
        self.deferred: list[tuple[str, Wake]] = []

    async def __call__(self, name: str, kind: Wake) -> bool:
        if self.full:
            return False
        self.deferred.append((name, kind))
        return True


def test_due_portfolios_are_deferred_once_and_rescheduled(
    fleet_store: Store, fleet_url: str
) -> None:
    registry.add(fleet_store, _raw("a", None), ENV, "a.toml", NOW)
    registry.add(fleet_store, _raw("b", "0 0 1 4 *"), ENV, "b.toml", NOW)
    queue = Queue()

    asyncio.run(tick(fleet_store, fleet_url, NOW, queue))
    assert sorted(queue.deferred) == [("a", Wake.DRIFT_CHECK), ("b", Wake.DRIFT_CHECK)]
    assert registry.require(fleet_store, "a").next_drift_at == NOW + timedelta(seconds=600)

    asyncio.run(tick(fleet_store, fleet_url, NOW + timedelta(seconds=60), queue))
    assert len(queue.deferred) == 2  # nothing new is due a minute later

    at_calendar = datetime(2026, 4, 1, 0, 0, 5, tzinfo=UTC)
    asyncio.run(tick(fleet_store, fleet_url, at_calendar, queue))
    assert queue.deferred[2:] == [("a", Wake.DRIFT_CHECK), ("b", Wake.CALENDAR)]
    b = registry.require(fleet_store, "b")
    assert b.next_calendar_at == datetime(2027, 4, 1, tzinfo=UTC)


def test_a_calendar_rebalance_stays_due_while_a_wake_up_waits(
    fleet_store: Store, fleet_url: str
) -> None:
    registry.add(fleet_store, _raw("b", "0 0 1 4 *"), ENV, "b.toml", NOW)
    at_calendar = datetime(2026, 4, 1, 0, 0, 5, tzinfo=UTC)
    asyncio.run(tick(fleet_store, fleet_url, at_calendar, Queue(full=True)))
    assert registry.require(fleet_store, "b").next_calendar_at == datetime(2026, 4, 1, tzinfo=UTC)
    queue = Queue()
    asyncio.run(tick(fleet_store, fleet_url, at_calendar + timedelta(seconds=10), queue))
    assert queue.deferred == [("b", Wake.CALENDAR)]
