"""The emulator pays funding on its schedule (and unified accounts pay interest on borrowed quote);
the real ccxt client reads those payments back through each venue's dialect, and the ledger
keeps each payment once however often the window is read again."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from rebalancer.domain.ledger import CarryKind, CarryRead
from rebalancer.emulator import Emulator
from rebalancer.service.carry import sync_carry
from rebalancer.store import SqlCarryLedger, open_store, upgrade
from tests.integration.harness import (
    gateway_for,
    hedged_emulator,
    settings_for,
    utcnow,
)
from tests.integration.venues import UNIFIED, VENUES

D = Decimal
SLOTS = 3  # funding times the emulator's book is set back by


def hedged(venue: str) -> Emulator:
    return hedged_emulator(venue, funding_slots=SLOTS)


def read(tmp: Path, emulator: Emulator) -> CarryRead:
    settings = settings_for(tmp, emulator)
    gateway = gateway_for(settings)

    async def go() -> CarryRead:
        try:
            now = utcnow()
            return await gateway.read_carry(now - timedelta(days=2), now + timedelta(minutes=1))
        finally:
            await gateway.close()

    return asyncio.run(go())


@pytest.mark.parametrize("venue", VENUES)
def test_funding_paid_on_schedule_is_read_back_through_ccxt(tmp_path: Path, venue: str) -> None:
    with hedged(venue) as emu:
        wallet_before = emu.exchange.account.wallet_balance
        got = read(tmp_path, emu)
        booked = [b for b in emu.exchange.carry.bookings if b.kind == "funding"]

    funding = sorted(
        (e for e in got.entries if e.kind is CarryKind.FUNDING), key=lambda e: (e.at, e.subject)
    )
    assert len(booked) == 2 * SLOTS  # both positions, every funding time passed
    assert len(funding) == 2 * SLOTS
    assert {e.source for e in funding} == {venue}
    assert {e.subject for e in funding} == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
    # Rate 0.01 %: the short BTC hedge ($1,000) receives 0.1, the long ETH hedge pays 0.1.
    assert all(e.amount == D("0.1") for e in funding if e.subject.startswith("BTC"))
    assert all(e.amount == D("-0.1") for e in funding if e.subject.startswith("ETH"))
    assert sorted(e.at for e in funding) == sorted(b.at for b in booked)
    assert sum(e.amount for e in funding) == sum(b.amount for b in booked)
    assert wallet_before == emu.exchange.account.wallet_balance - sum(b.amount for b in booked)
    assert all(e.at.minute == 0 and e.at.hour % 8 == 0 for e in funding)
    assert got.served_from is not None
    if venue == "bybit":  # the execution rows carry the rate and the position's value
        assert {e.rate for e in funding} == {D("0.0001")}
        assert {e.notional for e in funding} == {D("1000")}


@pytest.mark.parametrize("venue", UNIFIED)
def test_a_unified_account_is_charged_hourly_interest_on_borrowed_quote_and_serves_it(
    tmp_path: Path, venue: str
) -> None:
    with hedged(venue) as emu:
        account = emu.exchange.account
        account.credit_futures(-(account.wallet_balance + D(500)))  # borrow 500 USDT
        emu.exchange.carry.interest_until -= timedelta(hours=4)
        got = read(tmp_path, emu)
        interest = [b for b in emu.exchange.carry.bookings if b.kind == "interest"]

    charges = [e for e in got.entries if e.kind is CarryKind.INTEREST]
    assert len(interest) >= 4
    assert len(charges) == len(interest)
    assert all(e.subject == "USDT" and e.amount < 0 and e.source == venue for e in charges)
    assert sorted(e.at for e in charges) == sorted(b.at for b in interest)
    assert sum(e.amount for e in charges) == sum(b.amount for b in interest)
    first = min(interest, key=lambda b: b.at)
    assert first.notional >= D(500)  # charged on what was borrowed at that hour
    assert first.amount == -(first.notional * D("0.10") / D(8760)).quantize(D("1e-8"))


@pytest.mark.parametrize("venue", VENUES)
def test_reading_the_same_window_twice_records_each_payment_once(
    tmp_path: Path, venue: str
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(url)
    store = open_store(url)
    ledger = SqlCarryLedger(store)
    with hedged(venue) as emu:
        settings = settings_for(tmp_path, emu)

        async def twice() -> tuple[int, int]:
            gateway = gateway_for(settings)
            try:
                start = utcnow() - timedelta(days=2)
                first = await sync_carry(gateway, ledger, "p", utcnow(), start=start)
                second = await sync_carry(gateway, ledger, "p", utcnow(), start=start)
                return first.added, second.added
            finally:
                await gateway.close()

        first, second = asyncio.run(twice())
    try:
        assert (first, second) == (2 * SLOTS, 0)
        assert len(ledger.entries("p")) == 2 * SLOTS
    finally:
        store.close()
