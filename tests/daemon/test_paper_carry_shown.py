"""What a paper daemon's hedges cost is shown where a user looks: `carry` (funding per hedge,
interest on borrowed quote, the basis now and its range), `status` (this month's carry, the
borrow share) and the journal report (the carry figure beside the plot), on a segregated and on
a unified simulated account. The daemon runs in-process on a clock set back 20 hours, so its
funding times and hours of interest are in the past when the commands read them."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from rebalancer import bootstrap
from rebalancer.config import load_settings
from rebalancer.domain.ledger import CarryEntry, CarryKind
from rebalancer.domain.triggers import Wake
from rebalancer.emulator import Emulator
from rebalancer.emulator.state import seed_example_state
from tests.cli import rebalancer
from tests.daemon.process_harness import write_daemon_config
from tests.daemon.test_paper_carry import paper_waker

D = Decimal
# Unified: no quote at all, so the hedges' fees are borrowed (the coins are the collateral) and
# charged interest; segregated: a futures wallet of 2,000, nothing borrowed.
PAPER = """
[paper]
spot = {{ BTC = 0.14, ETH = 1.2, USDT = 0 }}
futures_wallet = {wallet}
slippage_bps = 0
account = "{account}"
"""


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _run_paper_daemon(path: Path, clock: Clock) -> None:
    """Two wake-ups 16 h apart (two funding times between them), as the daemon makes them."""
    settings = load_settings(path, {})

    async def scenario(journal: bootstrap.Journal) -> None:
        waker, gateway = paper_waker(settings, journal, clock)
        try:
            first = await waker.wake(Wake.DRIFT_CHECK)
            assert first.cycle is not None
            assert first.cycle.ok, first.cycle.error
            clock.now += timedelta(hours=16, minutes=1)
            await waker.wake(Wake.DRIFT_CHECK)
        finally:
            await gateway.close()

    with bootstrap.open_journal(settings) as journal:
        asyncio.run(scenario(journal))


def _ledger(path: Path) -> list[CarryEntry]:
    settings = load_settings(path, {})
    with bootstrap.open_journal(settings) as journal:
        return list(journal.carry.entries(settings.config.portfolio.name))


def _sum(entries: list[CarryEntry], kind: CarryKind) -> Decimal:
    return sum((e.amount for e in entries if e.kind is kind), D(0))


@pytest.mark.parametrize("account", ["segregated", "unified"])
def test_a_paper_daemons_carry_is_shown_by_carry_status_and_the_report(
    tmp_path: Path, account: str
) -> None:
    unified = account == "unified"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REBALANCER_")}
    with Emulator(seed_example_state()) as emu:  # only a price source
        emu.set_spot_price("BTCUSDT", D(50_000))
        emu.set_mark_price("BTCUSDT", D(50_050))  # the perp 10 bp over spot: a basis to record
        path = write_daemon_config(tmp_path, emu)
        wallet = "0" if unified else "2000"
        path.write_text(
            path.read_text(encoding="utf-8").replace('mode = "live"', 'mode = "paper"')
            + PAPER.format(wallet=wallet, account=account),
            encoding="utf-8",
        )
        _run_paper_daemon(path, Clock(datetime.now(UTC) - timedelta(hours=20)))
        # Each command settles the paper account up to its own now: the ledger is read after each.
        text = rebalancer("status", "-c", str(path), env=env)
        carried = rebalancer("carry", "-c", str(path), "--json", "--since", "2000-01-01", env=env)
        entries = _ledger(path)
        status = rebalancer("status", "-c", str(path), "--json", env=env)
        entries_then = _ledger(path)
    report_page = tmp_path / "report.html"
    reported = rebalancer("report", "-c", str(path), "-o", str(report_page), env=env)

    for done in (carried, status, text, reported):
        assert done.returncode == 0, done.stdout + done.stderr
    funding = [e for e in entries if e.kind is CarryKind.FUNDING]
    interest = [e for e in entries if e.kind is CarryKind.INTEREST]
    assert len(funding) >= 4  # two hedges x at least two funding times, each once
    assert len({(e.subject, e.at) for e in funding}) == len(funding)
    assert bool(interest) == unified  # only a unified account borrows
    assert all(e.source == "paper" for e in entries)

    # `carry`: funding per hedge (short BTC receives, long ETH pays), interest, the basis.
    document = json.loads(carried.stdout)
    hedges = {h["instrument"]: h for h in document["hedges"]}
    btc, eth = hedges["BTC/USDT:USDT"], hedges["ETH/USDT:USDT"]
    assert D(btc["funding_received"]) > 0
    assert D(eth["funding_paid"]) < 0
    assert D(btc["funding_received"]) + D(btc["funding_paid"]) + D(eth["funding_paid"]) + D(
        eth["funding_received"]
    ) == _sum(entries, CarryKind.FUNDING)
    # (the report rounds to 8 places what the ledger keeps to 12)
    assert abs(D(document["total"]["interest"]) - _sum(entries, CarryKind.INTEREST)) < D("1e-8")
    assert (D(document["total"]["interest"]) < 0) == unified  # interest is a cost
    assert D(btc["basis_now"]) == D("0.001")
    assert D(btc["basis_low"]) <= D(btc["basis_now"]) <= D(btc["basis_high"])
    assert D(eth["basis_now"]) == 0
    assert document["gaps"] == []

    # `status`: this month's carry is the ledger's entries from the 1st, and the borrow share.
    now = datetime.now(UTC)
    month = [e for e in entries_then if e.at >= now.replace(day=1, hour=0, minute=0, second=0)]
    this_month = json.loads(status.stdout)["carry_this_month"]
    assert D(this_month["funding"]) == _sum(month, CarryKind.FUNDING)
    assert D(this_month["interest"]) == _sum(month, CarryKind.INTEREST)
    assert "Carry this month:" in text.stdout
    assert ("Unified account: borrowed" in text.stdout) == unified

    # The report: the paper column's carry figure is the ledger's total.
    html = report_page.read_text(encoding="utf-8")
    total = _sum(entries_then, CarryKind.FUNDING) + _sum(entries_then, CarryKind.INTEREST)
    assert "carry (funding + interest)" in html
    assert f"{total:,.2f}" in html
