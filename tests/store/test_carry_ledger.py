"""The carry ledger on SQLite and PostgreSQL: each payment once however often its window is
read, gaps kept once, entries back as written, and migration 0006 keeping a 0005 journal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from rebalancer.domain.ledger import CarryEntry, CarryGap, CarryKind, entry_key
from rebalancer.store import SqlCarryLedger, Store, current_revision, open_store, upgrade
from rebalancer.store.engine import make_engine

D = Decimal
T0 = datetime(2026, 1, 5, tzinfo=UTC)
EIGHT = timedelta(hours=8)


def funding(i: int, amount: str = "-0.1", source: str = "binance") -> CarryEntry:
    at = T0 + i * EIGHT
    return CarryEntry(
        CarryKind.FUNDING, f"tran-{i}", at, "BTC/USDT:USDT", D(amount), source, D("0.0001")
    )


def test_entries_come_back_as_written_and_a_second_read_adds_nothing(store: Store) -> None:
    ledger = SqlCarryLedger(store)
    interest = CarryEntry(
        CarryKind.INTEREST,
        "int-1",
        T0 + timedelta(hours=1),
        "USDT",
        D("-0.00570776"),
        "bybit",
        D("0.0000114155"),
        D("500.12345678"),
    )
    written = [funding(0), interest, funding(1, "0.12345678901234567890")]

    assert ledger.add("main", written) == 3
    assert ledger.add("main", written) == 0
    assert ledger.entries("main") == sorted(written, key=lambda e: e.at)
    assert ledger.newest("main") == funding(1).at
    assert ledger.entries("other") == []
    assert ledger.newest("other") is None


def test_the_same_key_from_another_source_or_portfolio_is_another_payment(store: Store) -> None:
    ledger = SqlCarryLedger(store)
    assert ledger.add("main", [funding(0)]) == 1
    assert ledger.add("main", [funding(0, source="bybit")]) == 1
    assert ledger.add("second", [funding(0)]) == 1
    assert len(ledger.entries("main")) == 2


def test_since_keeps_entries_at_or_after_it(store: Store) -> None:
    ledger = SqlCarryLedger(store)
    ledger.add("main", [funding(i) for i in range(5)])
    assert [e.key for e in ledger.entries("main", funding(3).at)] == ["tran-3", "tran-4"]


def test_gaps_are_kept_once_per_subject_and_start(store: Store) -> None:
    ledger = SqlCarryLedger(store)
    gap = CarryGap("*", T0, T0 + timedelta(days=3), "the venue no longer returns this window", "x")
    assert ledger.add_gaps("main", [gap, gap]) == 1
    assert ledger.add_gaps("main", [gap]) == 0
    assert ledger.gaps("main") == [gap]
    assert ledger.gaps("main", T0 + timedelta(days=4)) == []


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(windows=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 12)), min_size=1, max_size=6))
def test_overlapping_windows_record_each_payment_exactly_once(
    store: Store, windows: list[tuple[int, int]]
) -> None:
    ledger = SqlCarryLedger(store)
    portfolio = f"p{abs(hash(tuple(windows)))}"  # one ledger per example on the shared store
    payments = [funding(i, f"-0.{i + 1}") for i in range(45)]
    for start, length in windows:
        ledger.add(portfolio, payments[start : start + length])
    seen = sorted({i for s, n in windows for i in range(s, min(s + n, 45))})
    kept = ledger.entries(portfolio)
    assert [e.key for e in kept] == [f"tran-{i}" for i in seen]
    assert sum((e.amount for e in kept), D(0)) == sum((payments[i].amount for i in seen), D(0))


def test_paper_keys_are_one_per_instrument_and_time() -> None:
    assert entry_key("BTC/USDT:USDT", T0) == entry_key("BTC/USDT:USDT", T0)
    assert entry_key("BTC/USDT:USDT", T0) != entry_key("ETH/USDT:USDT", T0)
    assert entry_key("BTC/USDT:USDT", T0) != entry_key("BTC/USDT:USDT", T0 + EIGHT)


def test_upgrade_from_0005_keeps_the_journal_and_adds_an_empty_ledger(db_url: str) -> None:
    upgrade(db_url, "rebalancer_0005")
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO portfolios (name, created_at) VALUES ('main', :at)"),
                {"at": T0.replace(tzinfo=None) if db_url.startswith("sqlite") else T0},
            )
    finally:
        engine.dispose()

    upgrade(db_url, "rebalancer_0006")

    assert current_revision(db_url) == "rebalancer_0006"
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM portfolios")).scalars().all() == ["main"]
    finally:
        engine.dispose()
    store = open_store(db_url)
    try:
        ledger = SqlCarryLedger(store)
        assert ledger.entries("main") == []
        assert ledger.add("main", [funding(0)]) == 1
    finally:
        store.close()


@pytest.mark.parametrize("bad", [datetime(2026, 1, 5), T0.replace(tzinfo=None)])  # noqa: DTZ001
def test_an_entry_with_a_naive_time_is_refused(bad: datetime) -> None:
    with pytest.raises(ValueError, match="aware UTC"):
        CarryEntry(CarryKind.FUNDING, "k", bad, "BTC/USDT:USDT", D(0), "paper")
