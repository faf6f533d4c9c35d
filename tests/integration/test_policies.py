"""The policies in the live cycle and the daemon, against the emulator through real ccxt.

The decision is journaled in every run while the policy is enabled, exactly when one of its
conditions holds (here: collateral below its floor of the gross hedge) and never otherwise;
a dry-run says what the policy would do and sends nothing. A due roll acts (its hedges
close, then spot trades to target: tests/integration/test_roll.py). The top-up policy
(`policy.enabled = ["top-up"]`, or the older `safety.top_up_from_spot`) moves spot quote to
the futures wallet on a margin alert.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from rebalancer.config import load_settings
from rebalancer.domain.triggers import Wake
from rebalancer.emulator import Emulator
from rebalancer.emulator.state import EmulatorState
from rebalancer.exchange.ccxt_client import build_client
from rebalancer.exchange.ccxt_gateway import CcxtGateway
from rebalancer.exchange.paper import PaperGateway
from rebalancer.service.controls import Controls, MemoryControls, TradingGate
from rebalancer.service.cycle import CycleResult, run_cycle
from rebalancer.service.memory_journal import MemoryJournal
from tests.integration.harness import (
    OPEN,
    MemoryPaperStore,
    gateway_for,
    seed_state,
    settings_for,
    utcnow,
    waker_for,
    write_config,
)

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
    # Due: both lines roll; BTC sells spot and ETH buys it, one spot order each.
    expected = ["policy_roll_due", *["policy_roll_spot"] * 2] if holds else ["policy_roll_idle"]
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


TOP_UP = {
    "policy": '[policy]\nenabled = ["top-up"]\n[safety]\n',
    "safety": "[safety]\ntop_up_from_spot = true\n",
    "off": "[safety]\n",
}


@pytest.mark.parametrize("form", sorted(TOP_UP))
def test_the_top_up_policy_moves_spot_quote_once_per_margin_alert(
    tmp_path: Path, form: str
) -> None:
    # 100 of futures wallet for a 250 short: a 40 % move liquidates, inside the 99 % alert
    # distance; 500 USDT in spot to move.
    state = seed_state(
        futures_wallet="100",
        extra={
            "spot_balances": {"BTC": "0.14", "ETH": "1.2", "USDT": "500"},
            "positions": [{"symbol": "BTCUSDT", "size": "-0.005", "entry_price": "50000"}],
        },
    )
    extra = (
        '[schedule]\ntrigger = "threshold"\ndrift_abs = 0.5\n'
        + TOP_UP[form]
        + "margin_alert_distance = 0.99\ntop_up_max = 100\n"
    )
    with Emulator(state) as emu:
        settings = settings_for(tmp_path, emu, extra=extra)
        waker = waker_for(settings, MemoryJournal())

        async def wake_twice() -> None:
            try:
                for _ in range(2):
                    await waker.wake(Wake.DRIFT_CHECK)
            finally:
                await waker.gateway.close()

        asyncio.run(wake_twice())
        transfers = [r for r in emu.requests() if r.path == "/sapi/v1/asset/transfer"]

    # One switch, two spellings: either moves up to top_up_max once per excursion.
    assert len(transfers) == (0 if form == "off" else 1)
    assert settings.config.top_up_enabled == (form != "off")


def test_a_halted_portfolio_runs_no_policy_and_sends_nothing(tmp_path: Path) -> None:
    journal = MemoryJournal()
    controls = MemoryControls()
    controls.save(
        "seed-60-40",
        Controls(halted=True, reason="halted by the user", since=datetime(2026, 1, 1, tzinfo=UTC)),
    )
    with Emulator(seed_state()) as emu:
        assert _cycle(tmp_path, emu, journal, extra="").ok  # hedges open
        emu.clear_requests()
        settings = settings_for(tmp_path, emu, extra=_policy("3"))
        gateway = gateway_for(settings)

        async def go() -> CycleResult:
            try:
                gate = TradingGate(controls, "seed-60-40")
                return await run_cycle(settings, gateway, journal, utcnow, gate=gate, mode="live")
            finally:
                await gateway.close()

        result = asyncio.run(go())
        writes = [r for r in emu.requests() if r.method != "GET"]

    assert result.refused
    assert writes == []
    assert _kinds(journal, result.run_id) == []  # the kill switch gates the policies too


# -- the top-up policy in every cycle (`once`, the daemon's cycles, fleet jobs) --------------


def _thin_margin() -> EmulatorState:
    """100 of futures wallet for a 250 short: a 40 % move liquidates, inside a 99 % alert
    distance; 500 USDT in spot to move."""
    return seed_state(
        futures_wallet="100",
        extra={
            "spot_balances": {"BTC": "0.14", "ETH": "1.2", "USDT": "500"},
            "positions": [{"symbol": "BTCUSDT", "size": "-0.005", "entry_price": "50000"}],
        },
    )


TOP_UP_ON = '[policy]\nenabled = ["top-up"]\n[safety]\ntop_up_max = 100\n'


def _top_up_events(journal: MemoryJournal, run_id: str) -> list[str]:
    return [
        f"{e.kind}: {e.message}"
        for e in journal.events
        if e.run_id == run_id and e.kind.startswith("policy_top_up")
    ]


@pytest.mark.parametrize("mode", ["live", "dry-run"])
def test_a_cycle_applies_the_top_up_policy_and_journals_it(tmp_path: Path, mode: str) -> None:
    journal = MemoryJournal()
    extra = TOP_UP_ON + "margin_alert_distance = 0.99\n"
    with Emulator(_thin_margin()) as emu:
        result = _cycle(tmp_path, emu, journal, extra=extra, mode=mode)
        transfers = [r for r in emu.requests() if r.path == "/sapi/v1/asset/transfer"]

    assert result.ok, result.error
    (event,) = _top_up_events(journal, result.run_id)
    if mode == "live":
        # top_up_max (100) of the 500 held: the limit holds, once.
        assert event.startswith("policy_top_up: top-up: moved 100 USDT from spot to futures")
        assert len(transfers) == 1
        assert [(p.policy, p.acted) for p in result.policies] == [("top-up", True)]
        assert result.after is not None
        assert result.before is not None
        assert result.after.cash == result.before.cash - 100  # read again after the move
    else:
        assert event.startswith("policy_top_up_due: top-up dry-run: would move 100 USDT")
        assert transfers == []
        assert [(p.policy, p.acted) for p in result.policies] == [("top-up", False)]
    assert any(n.startswith("top-up") for n in result.notes)  # what `once` prints


def test_a_healthy_margin_leaves_the_top_up_idle_and_says_why(tmp_path: Path) -> None:
    journal = MemoryJournal()
    with Emulator(seed_state()) as emu:
        result = _cycle(tmp_path, emu, journal, extra=TOP_UP_ON)
        transfers = [r for r in emu.requests() if r.path == "/sapi/v1/asset/transfer"]

    assert result.ok, result.error
    (event,) = _top_up_events(journal, result.run_id)
    assert event.startswith("policy_top_up_idle: top-up idle: no position, alert below 25%")
    assert transfers == []
    assert result.policies == ()  # idle is journaled, not notified


def test_without_the_top_up_policy_nothing_is_journaled_or_moved(tmp_path: Path) -> None:
    journal = MemoryJournal()
    with Emulator(_thin_margin()) as emu:
        result = _cycle(tmp_path, emu, journal, extra="[safety]\nmargin_alert_distance = 0.99\n")
        transfers = [r for r in emu.requests() if r.path == "/sapi/v1/asset/transfer"]

    assert result.ok, result.error
    assert _top_up_events(journal, result.run_id) == []
    assert transfers == []


@pytest.mark.parametrize(("account", "why"), [("segregated", "paper"), ("unified", "unified")])
def test_paper_mode_refuses_the_top_up_and_says_why(tmp_path: Path, account: str, why: str) -> None:
    paper = f"""
[paper]
spot = {{ BTC = 0.14, ETH = 1.2, USDT = 500 }}
futures_wallet = 100
taker_fee = 0.0005
slippage_bps = 0
account = "{account}"
[simulation]
haircuts = {{ BTC = 0.95, ETH = 0.95 }}
"""
    journal = MemoryJournal()
    with Emulator(seed_state()) as emu:
        config = write_config(tmp_path, emu, extra=paper + TOP_UP_ON)
        config.write_text(config.read_text().replace('mode = "live"', 'mode = "paper"'))
        settings = load_settings(config, {})
        public = CcxtGateway(build_client(settings.config.exchange, None), quote="USDT")
        gateway = PaperGateway.open(settings, public, MemoryPaperStore(), utcnow)

        async def go() -> CycleResult:
            try:
                return await run_cycle(settings, gateway, journal, utcnow, gate=OPEN, mode="paper")
            finally:
                await gateway.close()

        result = asyncio.run(go())

    assert result.ok, result.error
    (event,) = _top_up_events(journal, result.run_id)
    assert event.startswith("policy_top_up_refused: top-up refused: ")
    assert why in event
    assert result.policies == ()  # the account's kind, not the margin: journaled, not notified
