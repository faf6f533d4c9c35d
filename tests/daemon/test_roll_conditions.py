"""The roll policy acts exactly when one of its enabled conditions holds, and never otherwise:
in the daemon (a real `Waker`) and in `once` (the real command, run in-process: the process is
not the subject), against the emulator through real ccxt.

Each case opens the hedges without the policy, then runs twice with it. Where a condition in
`roll_on` holds, the first run rolls the lines it names (one spot order per rolled asset, its
reason journaled) and notifies once; the second sends nothing. Where none holds (or the
condition that holds is not in `roll_on`, or the policy is off), no spot order is ever sent.
The seed account: $7,000 BTC and $3,000 ETH in spot, BTC hedged short and ETH long. With a
2,000 futures wallet the leverage cap binds; with 4,000 it does not, and only ETH is hedged.
At a funding rate of -0.0003 BTC's short hedge costs more over 30 days than selling the BTC
it stands for (carry), and ETH's long hedge earns; over one hour neither costs more.

Those cases run on Binance, a segregated account that borrows nothing. The borrowing cases run
on the unified venues (Bybit, OKX: one account, the coins are collateral) with the quote 500
USDT below zero: 500 borrowed of 9,500 equity (5.26%; 5.28% once the opening fees are paid),
above a `max_borrow` of 0.01 and below 0.1. Their roll closes both hedges, sells $2,250 of BTC
and buys $166 of ETH (the long exposure its hedge carried), which pays the borrowing off.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from rebalancer.config import load_settings
from rebalancer.domain.triggers import Wake
from rebalancer.emulator import Emulator
from rebalancer.emulator.orders import Segment
from rebalancer.notify import NotificationKind
from rebalancer.service.crashpoints import ENV as CRASH_ENV
from rebalancer.service.cycle import run_cycle
from rebalancer.service.memory_journal import MemoryJournal
from tests.cli import Ran, rebalancer
from tests.daemon.recorder import Recorder
from tests.integration.harness import ENV as CREDENTIALS
from tests.integration.harness import (
    OPEN,
    gateway_for,
    seed_state,
    settings_for,
    utcnow,
    waker_for,
    write_config,
)
from tests.integration.venues import UNIFIED


@dataclass(frozen=True)
class Case:
    wallet: str
    policy: str  # the [policy] (and [carry]/[hedging]) text; "" is the policy off
    rolls: tuple[str, ...]  # the spot markets traded by the roll
    reason: str | None  # the RollReason text journaled, where it acts
    shorts_pay: bool = False  # funding below zero: BTC's short hedge pays, ETH's long earns
    max_borrow: str | None = None  # hedging.max_borrow (the borrowing condition's limit)
    venues: tuple[str, ...] = ("binance",)


def _policy(roll_on: str, more: str = "") -> str:
    return f"""
[policy]
enabled = ["roll"]
allow_spot_sales = true
roll_on = {roll_on}
collateral_floor = {{floor}}
{more}"""


CASES = {
    "cap-holds": Case("2000", _policy('["cap"]'), ("BTCUSDT", "ETHUSDT"), "leverage cap binds"),
    "cap-within": Case("4000", _policy('["cap"]'), (), None),
    "collateral-holds": Case(
        "2000",
        _policy('["collateral"]').replace("{floor}", "3"),
        ("BTCUSDT", "ETHUSDT"),
        "collateral is below the floor",
    ),
    "collateral-above": Case("2000", _policy('["collateral"]').replace("{floor}", "0.5"), (), None),
    "carry-holds": Case(
        "2000", _policy('["carry"]'), ("BTCUSDT",), "projected carry exceeds", shorts_pay=True
    ),
    "carry-cheap": Case(
        "2000", _policy('["carry"]', '[carry]\nhorizon = "1h"'), (), None, shorts_pay=True
    ),
    "borrowing-none": Case("2000", _policy('["borrowing"]'), (), None, max_borrow="0.01"),
    "borrowing-holds": Case(
        "-500",
        _policy('["borrowing"]'),
        ("BTCUSDT", "ETHUSDT"),
        "borrowing exceeds max_borrow",
        max_borrow="0.01",
        venues=UNIFIED,
    ),
    "borrowing-within": Case(
        "-500", _policy('["borrowing"]'), (), None, max_borrow="0.1", venues=UNIFIED
    ),
    # Borrowing exceeds max_borrow, but roll_on leaves it out; nothing else holds.
    "borrowing-not-enabled": Case(
        "-500",
        _policy('["cap", "collateral", "carry"]', '[carry]\nhorizon = "1h"'),
        (),
        None,
        max_borrow="0.01",
        venues=UNIFIED,
    ),
    # The cap binds, but roll_on leaves it out; collateral and carry do not hold.
    "cap-not-enabled": Case(
        "2000",
        _policy('["collateral", "carry"]', '[carry]\nhorizon = "1h"').replace("{floor}", "0.5"),
        (),
        None,
    ),
    "policy-off": Case("2000", "", (), None),  # the cap binds; no policy, nothing decided
}


def _write(tmp: Path, emu: Emulator, case: Case) -> Path:
    config = write_config(tmp, emu, extra=case.policy.replace("{floor}", "0.5"))
    if case.max_borrow is not None:  # the harness writes [hedging] itself: add to it
        text = config.read_text(encoding="utf-8")
        config.write_text(
            text.replace(
                "min_trade_notional = 10",
                f"min_trade_notional = 10\nmax_borrow = {case.max_borrow}",
            ),
            encoding="utf-8",
        )
    return config


def _once(config: Path) -> Ran:
    env = {**os.environ, **CREDENTIALS}
    env.pop(CRASH_ENV, None)
    return rebalancer("once", "-c", str(config), "--yes", env=env)


def _spot_symbols(emu: Emulator) -> list[str]:
    """The spot markets of every spot order, oldest first."""
    return [o.symbol for o in emu.exchange.store.all_orders() if o.segment is Segment.SPOT]


def _daemon(tmp: Path, emu: Emulator, case: Case) -> tuple[list[list[str]], list[str], Recorder]:
    """Two calendar wake-ups: per wake-up the spot markets traded, and the policy events."""

    opening = settings_for(tmp, emu)
    opener = gateway_for(opening)

    async def open_hedges() -> None:
        try:
            done = await run_cycle(opening, opener, MemoryJournal(), utcnow, gate=OPEN, mode="live")
            assert done.ok, done.error
        finally:
            await opener.close()

    asyncio.run(open_hedges())
    config = _write(tmp, emu, case)
    settings = load_settings(config, CREDENTIALS)
    journal = MemoryJournal()
    notifier = Recorder()
    waker = waker_for(settings, journal, notifier=notifier)
    traded: list[list[str]] = []

    async def wake_twice() -> None:
        try:
            for _ in range(2):
                before = _spot_symbols(emu)
                outcome = await waker.wake(Wake.CALENDAR)
                assert outcome.cycle is not None, outcome
                assert outcome.cycle.ok, outcome.cycle.error
                traded.append(sorted(_spot_symbols(emu)[len(before) :]))
        finally:
            await waker.gateway.close()

    asyncio.run(wake_twice())
    events = [f"{e.kind}: {e.message}" for e in journal.events if e.kind.startswith("policy")]
    return traded, events, notifier


def _once_twice(tmp: Path, emu: Emulator, case: Case) -> tuple[list[list[str]], list[str]]:
    opened = _once(write_config(tmp, emu))
    assert opened.returncode == 0, opened.stdout + opened.stderr
    config = _write(tmp, emu, case)
    traded: list[list[str]] = []
    for _ in range(2):
        before = _spot_symbols(emu)
        done = _once(config)
        assert done.returncode == 0, done.stdout + done.stderr
        traded.append(sorted(_spot_symbols(emu)[len(before) :]))
    with sqlite3.connect(tmp / "journal.db") as conn:
        rows = conn.execute(
            "SELECT kind, message FROM events WHERE kind LIKE 'policy%' ORDER BY id"
        ).fetchall()
    return traded, [f"{k}: {m}" for k, m in rows]


RUNS = [
    pytest.param(name, venue, id=f"{name}-{venue}")
    for name in sorted(CASES)
    for venue in CASES[name].venues
]


@pytest.mark.parametrize("entry", ["daemon", "once"])
@pytest.mark.parametrize(("name", "venue"), RUNS)
def test_the_roll_acts_exactly_when_an_enabled_condition_holds(
    tmp_path: Path, name: str, venue: str, entry: str
) -> None:
    case = CASES[name]
    rates = {"funding_rates": {"BTCUSDT": "-0.0003", "ETHUSDT": "-0.0003"}}
    state = seed_state(futures_wallet=case.wallet, extra=rates if case.shorts_pay else None)
    with Emulator(state, venue=venue) as emu:  # type: ignore[arg-type]
        if venue in UNIFIED:  # no interest while the test runs: borrowing moves by trades only
            emu.exchange.carry.borrow_rate = None
        if entry == "daemon":
            traded, events, notifier = _daemon(tmp_path, emu, case)
        else:
            traded, events = _once_twice(tmp_path, emu, case)
        spot_now = _spot_symbols(emu)
        sold = [
            o.symbol
            for o in emu.exchange.store.all_orders()
            if o.segment is Segment.SPOT and o.side.value == "SELL"
        ]
        quote = emu.exchange.account.quote_balance()

    assert sorted(traded[0]) == sorted(case.rolls), events
    assert traded[1] == []  # rolled once: the next run finds nothing to roll
    assert sorted(spot_now) == sorted(case.rolls)
    # BTC is over its target in every case: a roll of its line sells it in spot.
    assert sold == (["BTCUSDT"] if "BTCUSDT" in case.rolls else [])
    if not case.policy:
        assert events == []  # off: nothing decided, nothing journaled
        return
    due = [e for e in events if e.startswith("policy_roll_due")]
    if case.reason is None:
        assert due == []
        assert [e.split(":")[0] for e in events] == ["policy_roll_idle", "policy_roll_idle"]
    else:
        assert len(due) == 1
        assert case.reason in due[0]
        assert events[-1] == "policy_roll_idle: roll: no condition holds"
    if case.max_borrow is not None and venue in UNIFIED:
        # The roll's BTC sale pays the borrowing off; without a roll the account still borrows.
        assert (quote >= 0) == bool(case.rolls), quote
    if entry == "daemon":
        policy = [n for n in notifier.sent if n.kind is NotificationKind.POLICY]
        assert [n.title for n in policy] == (["Roll performed"] if case.reason else [])
