"""The roll policy in the live cycle, against the emulator through the real ccxt client.

The decision is journaled in every run while the policy is enabled, exactly when one of its
conditions holds (here: collateral below its floor of the gross hedge) and never otherwise;
a dry-run says what the policy would do and sends nothing. Spot orders are not placed yet:
a due roll is journaled as not performed and the planned hedges go ahead.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from rebalancer.emulator import Emulator
from rebalancer.service.cycle import CycleResult, run_cycle
from rebalancer.service.memory_journal import MemoryJournal
from tests.integration.harness import OPEN, gateway_for, seed_state, settings_for, utcnow

D = Decimal


def _policy(floor: str) -> str:
    return f"""
[policy]
enabled = ["roll"]
allow_spot_sales = true
roll_on = ["collateral"]
collateral_floor = {floor}
"""


def _cycle(
    tmp: Path, emu: Emulator, journal: MemoryJournal, *, extra: str, mode: str = "live"
) -> CycleResult:
    settings = settings_for(tmp, emu, extra=extra)
    gateway = gateway_for(settings)

    async def go() -> CycleResult:
        try:
            return await run_cycle(settings, gateway, journal, utcnow, gate=OPEN, mode=mode)
        finally:
            await gateway.close()

    return asyncio.run(go())


def _kinds(journal: MemoryJournal, run_id: str) -> list[str]:
    return [e.kind for e in journal.events if e.run_id == run_id and e.kind.startswith("policy")]


@pytest.mark.parametrize("floor", ["0.5", "0.99", "1.01", "3"])
def test_roll_is_due_exactly_when_collateral_is_below_its_floor(tmp_path: Path, floor: str) -> None:
    journal = MemoryJournal()
    with Emulator(seed_state()) as emu:
        first = _cycle(tmp_path, emu, journal, extra=_policy(floor))  # opens the hedges
        second = _cycle(tmp_path, emu, journal, extra=_policy(floor))

    assert first.ok, first.error
    assert second.ok, second.error
    # No hedge open before the first run: nothing to roll, whatever the floor.
    assert _kinds(journal, first.run_id) == ["policy_roll_idle"]
    before = second.before
    assert before is not None
    holds = before.collateral < D(floor) * before.gross_notional
    assert before.gross_notional > 0
    expected = ["policy_roll_due"] if holds else ["policy_roll_idle"]
    assert _kinds(journal, second.run_id) == expected
    assert second.roll is not None
    assert second.roll.acts == holds
    assert any(n.startswith("policy roll due: BTC") for n in second.notes) == holds  # `once`
    if holds:
        assert [r.line for r in second.roll.lines] == ["BTC", "ETH"]
        assert second.roll.sales.keys() == {"BTC"}  # the short BTC hedge rolls into a sale


def test_a_dry_run_says_what_the_roll_would_do_and_sends_nothing(tmp_path: Path) -> None:
    journal = MemoryJournal()
    with Emulator(seed_state()) as emu:
        assert _cycle(tmp_path, emu, journal, extra="").ok  # hedges open, no policy
        emu.clear_requests()
        result = _cycle(tmp_path, emu, journal, extra=_policy("3"), mode="dry-run")
        writes = [r for r in emu.requests() if r.method != "GET"]

    assert result.ok
    assert writes == []
    (event,) = [
        e for e in journal.events if e.run_id == result.run_id and e.kind == "policy_roll_due"
    ]
    assert event.message.startswith("dry-run: would roll: BTC: close hedge -")
    assert "collateral is below the floor" in event.message
    assert "sell" in event.message


def test_without_the_policy_nothing_is_decided_or_journaled(tmp_path: Path) -> None:
    journal = MemoryJournal()
    with Emulator(seed_state()) as emu:
        result = _cycle(tmp_path, emu, journal, extra="")

    assert result.roll is None
    assert _kinds(journal, result.run_id) == []
