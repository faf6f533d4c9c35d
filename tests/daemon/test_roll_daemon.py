"""The roll policy in the daemon: a real `Waker` against the emulator through real ccxt.

On the wake-up where collateral is below its floor the roll acts once (one batch of
reduce-only closes, then one spot order per rolled asset, in the emulator's request log and
the journal); the next wake-up sends nothing more. Where the condition does not hold, no
wake-up sends a spot order.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rebalancer.daemon.wake import WakeOutcome
from rebalancer.domain.triggers import Wake
from rebalancer.emulator import Emulator
from rebalancer.exchange.port import is_spot
from rebalancer.notify import NotificationKind
from rebalancer.service.cycle import run_cycle
from rebalancer.service.memory_journal import MemoryJournal
from tests.daemon.recorder import Recorder
from tests.integration.harness import (
    OPEN,
    gateway_for,
    seed_state,
    settings_for,
    utcnow,
    waker_for,
)

SPOT = "/api/v3/order"
BATCH = "/fapi/v1/batchOrders"


def _policy(floor: str) -> str:
    return f"""
[policy]
enabled = ["roll"]
allow_spot_sales = true
roll_on = ["collateral"]
collateral_floor = {floor}
"""


def _open_hedges(tmp: Path, emu: Emulator) -> None:
    settings = settings_for(tmp, emu)
    gateway = gateway_for(settings)

    async def go() -> None:
        try:
            result = await run_cycle(
                settings, gateway, MemoryJournal(), utcnow, gate=OPEN, mode="live"
            )
            assert result.ok, result.error
        finally:
            await gateway.close()

    asyncio.run(go())


@pytest.mark.parametrize(("floor", "rolls"), [("3", True), ("0.5", False)])
def test_the_daemon_rolls_on_the_wake_up_where_the_condition_holds_and_never_again(
    tmp_path: Path, floor: str, rolls: bool
) -> None:
    journal = MemoryJournal()
    with Emulator(seed_state()) as emu:
        _open_hedges(tmp_path, emu)
        settings = settings_for(tmp_path, emu, extra=_policy(floor))
        waker = waker_for(settings, journal)
        writes: list[list[str]] = []
        outcomes: list[WakeOutcome] = []

        async def wake_twice() -> None:
            try:
                for _ in range(2):
                    emu.clear_requests()
                    outcomes.append(await waker.wake(Wake.CALENDAR))
                    writes.append([r.path for r in emu.requests() if r.method != "GET"])
            finally:
                await waker.gateway.close()

        asyncio.run(wake_twice())

    first, second = (o.cycle for o in outcomes)
    assert first is not None
    assert second is not None
    assert first.ok, first.error
    assert second.ok, second.error
    spot_intents = [o for o in journal.orders.values() if is_spot(o.intent.instrument)]
    if rolls:
        assert writes[0] == [BATCH, SPOT, SPOT]  # the closes, then the spot trades
        assert sorted(o.intent.instrument for o in spot_intents) == ["BTC/USDT", "ETH/USDT"]
        assert {o.intent.run_id for o in spot_intents} == {first.run_id}
        assert all(o.status.value == "filled" for o in spot_intents)
    else:
        assert SPOT not in writes[0]
        assert spot_intents == [] or all(
            o.intent.instrument.endswith(":USDT") for o in spot_intents
        )
    assert SPOT not in writes[1]  # the next wake-up: nothing more is rolled
    if rolls:
        assert writes[1] == []


def test_a_roll_due_but_not_performed_is_notified_once_while_it_stays_due(
    tmp_path: Path,
) -> None:
    """A dry-run daemon: every cycle journals the roll it would do; the notifier hears it
    once, not at every wake-up, and nothing is sent to the exchange."""
    journal = MemoryJournal()
    notifier = Recorder()
    with Emulator(seed_state()) as emu:
        _open_hedges(tmp_path, emu)
        settings = settings_for(tmp_path, emu, extra=_policy("3"))
        waker = waker_for(settings, journal, notifier=notifier, mode="dry-run")
        emu.clear_requests()

        async def wake_thrice() -> None:
            try:
                for _ in range(3):
                    await waker.wake(Wake.CALENDAR)
            finally:
                await waker.gateway.close()

        asyncio.run(wake_thrice())
        writes = [r.path for r in emu.requests() if r.method != "GET"]

    assert writes == []
    due = [e for e in journal.events if e.kind == "policy_roll_due"]
    assert len(due) == 3  # journaled in every run...
    policy = [n for n in notifier.sent if n.kind is NotificationKind.POLICY]
    assert len(policy) == 1  # ...and notified once
    assert policy[0].title == "Roll due, not performed"
    assert "(dry-run)" in policy[0].text
    assert "collateral is below the floor" in policy[0].text
