"""A paper daemon journals the funding its simulated account settles: one ledger row per
hedge and funding time, however many wake-ups see it, and the carry report adds them up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from rebalancer import bootstrap
from rebalancer.config import Settings, load_settings
from rebalancer.daemon.wake import Waker
from rebalancer.domain.ledger import CarryKind
from rebalancer.domain.triggers import Wake
from rebalancer.emulator import Emulator
from rebalancer.emulator.carry_book import FUNDING_INTERVAL, last_slot
from rebalancer.emulator.state import seed_example_state
from rebalancer.exchange.ccxt_client import build_client
from rebalancer.exchange.ccxt_gateway import CcxtGateway
from rebalancer.exchange.paper import PaperGateway
from rebalancer.review.carry_query import journal_carry
from rebalancer.sim.values import quantize_money
from tests.daemon.process_harness import write_daemon_config
from tests.daemon.recorder import Recorder

D = Decimal
PAPER = """
[paper]
spot = { BTC = 0.14, ETH = 1.2, USDT = 0 }
futures_wallet = 2000
slippage_bps = 0
"""


class Clock:
    """From an hour after the last funding time (00/08/16 UTC) but one: a step of 16 h 01 min
    then passes exactly two funding times, whatever the time of day the test runs."""

    def __init__(self) -> None:
        self.now = last_slot(datetime.now(UTC), FUNDING_INTERVAL) - timedelta(hours=7)

    def __call__(self) -> datetime:
        return self.now


def paper_waker(
    settings: Settings, journal: bootstrap.Journal, clock: Callable[[], datetime]
) -> tuple[Waker, PaperGateway]:
    """The daemon's wake-up over a paper account on the emulator's public prices, journaling
    the funding the account settles into the carry ledger, as `rebalancer run` wires it."""
    name = settings.config.portfolio.name
    public = CcxtGateway(build_client(settings.config.exchange, None), quote="USDT")
    ledger = journal.carry
    gateway = PaperGateway.open(
        settings, public, journal.paper, clock=clock, carry=lambda e: ledger.add(name, e)
    )
    waker = Waker(
        settings,
        gateway=gateway,
        journal=journal.journal,
        controls=journal.controls,
        notifier=Recorder(),
        clock=clock,
        mode="paper",
        carry=ledger,
    )
    return waker, gateway


def test_a_paper_daemon_journals_each_funding_payment_once(tmp_path: Path) -> None:
    clock = Clock()
    with Emulator(seed_example_state()) as emu:  # only a price source
        path = write_daemon_config(tmp_path, emu)
        path.write_text(
            path.read_text(encoding="utf-8").replace('mode = "live"', 'mode = "paper"') + PAPER,
            encoding="utf-8",
        )
        settings = load_settings(path, {})
        name = settings.config.portfolio.name

        async def scenario(journal: bootstrap.Journal) -> list[int]:
            ledger = journal.carry
            waker, gateway = paper_waker(settings, journal, clock)
            counts = []
            try:
                first = await waker.wake(Wake.DRIFT_CHECK)
                assert first.cycle is not None
                assert first.cycle.ok, first.cycle.error
                counts.append(len(ledger.entries(name)))
                clock.now += timedelta(hours=16, minutes=1)  # two funding times pass
                for _ in range(3):
                    await waker.wake(Wake.DRIFT_CHECK)
                    counts.append(len(ledger.entries(name)))
            finally:
                await gateway.close()
            return counts

        with bootstrap.open_journal(settings) as journal:
            counts = asyncio.run(scenario(journal))
            entries = journal.carry.entries(name)
            report = journal_carry(journal.store, name, quote="USDT", since=None, until=clock.now)

    assert counts == [0, 4, 4, 4]  # two hedges x two funding times, never again
    assert {e.source for e in entries} == {"paper"}
    assert {e.kind for e in entries} == {CarryKind.FUNDING}
    assert all(e.at.hour % 8 == 0 and e.at.minute == 0 for e in entries)
    for entry in entries:  # Binance's rule: longs pay a positive rate, shorts receive it
        assert entry.rate == D("0.0001")
        assert entry.notional is not None
        assert abs(entry.amount) == quantize_money(entry.notional * entry.rate)
        assert (entry.amount > 0) == entry.subject.startswith("BTC")  # short BTC, long ETH
    hedges = {h.instrument: h for h in report.hedges}
    assert hedges["BTC/USDT:USDT"].funding_received > 0
    assert hedges["ETH/USDT:USDT"].funding_paid < 0
    assert report.hedges_net == sum((e.amount for e in entries), D(0)) - report.fees
    assert report.fees > 0  # the paper fills paid the taker fee
    assert len(report.cumulative) == 4
