"""OKX carry through the real ccxt `okx` client against the emulator's bills: funding fees and
interest deductions are read page by page (100 bills a page, backwards by bill id), from the
seven-day bills or, for an older window, from the three-month archive, each bill once."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from rebalancer.domain.ledger import CarryKind, CarryRead
from rebalancer.emulator import Emulator
from rebalancer.emulator.faults import malformed
from rebalancer.exchange.errors import MalformedResponse
from rebalancer.exchange.venues.okx_carry import ARCHIVE
from rebalancer.service.carry import sync_carry
from rebalancer.store import SqlCarryLedger, open_store, upgrade
from tests.integration.harness import (
    gateway_for,
    hedged_emulator,
    settings_for,
    utcnow,
)

D = Decimal
BILLS, ARCHIVED = "/api/v5/account/bills", "/api/v5/account/bills-archive"


def busy(*, funding_slots: int, interest_hours: int) -> Emulator:
    """Both hedges paid `funding_slots` times; 500 USDT borrowed for `interest_hours` hours."""
    emulator = hedged_emulator("okx", funding_slots)
    account = emulator.exchange.account
    account.credit_futures(-(account.wallet_balance + D(500)))
    emulator.exchange.carry.interest_until -= interest_hours * timedelta(hours=1)
    return emulator


def read(tmp: Path, emulator: Emulator, days: float) -> CarryRead:
    gateway = gateway_for(settings_for(tmp, emulator))

    async def go() -> CarryRead:
        try:
            now = utcnow()
            return await gateway.read_carry(now - timedelta(days=days), now)
        finally:
            await gateway.close()

    emulator.exchange.settle_due()  # book every payment before the requests are counted
    emulator.clear_requests()
    return asyncio.run(go())


def reads_of(emulator: Emulator, path: str) -> int:
    return sum(1 for r in emulator.requests() if r.path == path)


def test_more_than_a_page_of_recent_bills_is_read_whole_from_the_bills(tmp_path: Path) -> None:
    # 2 hedges x 15 funding times = 30 funding bills; 130 hourly interest bills: two pages.
    with busy(funding_slots=15, interest_hours=130) as emu:
        got = read(tmp_path, emu, days=6)
        booked = emu.exchange.carry.bookings
        recent, archived = reads_of(emu, BILLS), reads_of(emu, ARCHIVED)

    interest = [b for b in booked if b.kind == "interest"]
    charges = [e for e in got.entries if e.kind is CarryKind.INTEREST]
    funding = [e for e in got.entries if e.kind is CarryKind.FUNDING]
    assert len(interest) == 130
    assert sorted(e.key for e in charges) == sorted(str(b.id) for b in interest)
    assert sum(e.amount for e in charges) == sum(b.amount for b in interest)
    assert all(e.subject == "USDT" and e.amount < 0 for e in charges)
    assert len(funding) == 30
    assert {e.subject for e in funding} == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
    assert len({e.key for e in got.entries}) == len(got.entries)  # no bill twice
    # Interest: a full page and the rest; funding: one page. Nothing from the archive.
    assert (recent, archived) == (3, 0)


def test_a_window_older_than_a_week_is_read_from_the_archive(tmp_path: Path) -> None:
    # 2 x 60 funding times over 20 days: 120 funding bills, all older than the last page.
    with busy(funding_slots=60, interest_hours=3) as emu:
        got = read(tmp_path, emu, days=30)
        booked = [b for b in emu.exchange.carry.bookings if b.kind == "funding"]
        recent, archived = reads_of(emu, BILLS), reads_of(emu, ARCHIVED)

    funding = [e for e in got.entries if e.kind is CarryKind.FUNDING]
    assert len(booked) == 120
    assert sorted(e.at for e in funding) == sorted(b.at for b in booked)
    assert sum(e.amount for e in funding) == sum(b.amount for b in booked)
    assert (recent, archived) == (0, 3)  # funding: 100 + 20; interest: one page
    assert got.served_from is not None


def test_a_window_past_three_months_is_reported_as_not_served(tmp_path: Path) -> None:
    with busy(funding_slots=3, interest_hours=0) as emu:
        got = read(tmp_path, emu, days=200)

    assert got.served_from is not None
    assert got.served_from - (utcnow() - ARCHIVE) < timedelta(minutes=5)
    assert len([e for e in got.entries if e.kind is CarryKind.FUNDING]) == 6


def test_the_ledger_keeps_each_bill_once_and_records_the_unserved_window_as_a_gap(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(url)
    store = open_store(url)
    ledger = SqlCarryLedger(store)
    with busy(funding_slots=60, interest_hours=110) as emu:
        settings = settings_for(tmp_path, emu)
        booked = len(emu.exchange.carry.bookings)

        async def twice() -> tuple[int, int, int]:
            gateway = gateway_for(settings)
            try:
                start = utcnow() - timedelta(days=120)
                first = await sync_carry(gateway, ledger, "p", utcnow(), start=start)
                again = await sync_carry(gateway, ledger, "p", utcnow(), start=start)
                return first.added, again.added, len(first.gaps)
            finally:
                await gateway.close()

        emu.exchange.settle_due()
        booked = len(emu.exchange.carry.bookings)
        first, again, gaps = asyncio.run(twice())
    try:
        assert booked == 120 + 110
        assert (first, again, gaps) == (booked, 0, 1)
        assert len(ledger.entries("p")) == booked
    finally:
        store.close()


def test_a_bill_without_an_id_fails_the_read_by_name(tmp_path: Path) -> None:
    body = json.dumps({"code": "0", "msg": "", "data": [{"ts": "1", "balChg": "-1", "type": "8"}]})
    with busy(funding_slots=1, interest_hours=0) as emu:
        emu.inject(malformed(body, path=BILLS, count=2))
        with pytest.raises(MalformedResponse, match="billId"):
            read(tmp_path, emu, days=1)
