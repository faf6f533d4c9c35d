"""The emulator's OKX bills, read by the real sync ccxt `okx` client: funding fees (type 8) and
interest deductions (type 7) as OKX writes them, the seven-day bills and the three-month
archive, newest first, paged by bill id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from rebalancer.emulator import Emulator
from rebalancer.emulator.state import seed_example_state

D = Decimal
POSITIONS = [
    {"symbol": "BTCUSDT", "size": "-0.02", "entry_price": "50000"},
    {"symbol": "ETHUSDT", "size": "0.4", "entry_price": "2500"},
]
SLOTS = 30  # funding times paid: ten days of them
HOURS = 5  # hours of interest charged on 500 borrowed USDT


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(seed_example_state(positions=POSITIONS), venue="okx") as emu:
        account = emu.exchange.account
        account.credit_futures(-(account.wallet_balance + D(500)))
        emu.exchange.carry.funded_until -= SLOTS * timedelta(hours=8)
        emu.exchange.carry.interest_until -= HOURS * timedelta(hours=1)
        emu.exchange.settle_due()
        yield emu


def booked(emulator: Emulator, kind: str) -> list[Any]:
    return [b for b in emulator.exchange.carry.bookings if b.kind == kind]


def test_ccxt_fetch_funding_history_reads_the_archive_in_unified_symbols(
    client: Any, emulator: Emulator
) -> None:
    history = client.fetch_funding_history()

    funding = booked(emulator, "funding")
    assert len(funding) == 2 * SLOTS
    assert sorted(h["id"] for h in history) == sorted(str(b.id) for b in funding)
    assert {h["symbol"] for h in history} == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
    by_id = {str(b.id): b for b in funding}
    assert all(D(str(h["amount"])) == by_id[h["id"]].amount for h in history)
    assert all(h["code"] == "USDT" for h in history)


def test_a_funding_bill_says_income_or_expense_and_the_position_in_contracts(
    client: Any,
) -> None:
    rows = client.privateGetAccountBills({"type": "8", "limit": "2"})["data"]

    by_inst = {r["instId"]: r for r in rows}
    btc, eth = by_inst["BTC-USDT-SWAP"], by_inst["ETH-USDT-SWAP"]
    # Rate 0.01 %: the short BTC hedge ($1,000) receives 0.1, the long ETH one pays 0.1.
    assert (btc["subType"], D(btc["balChg"]), D(btc["pnl"]), D(btc["sz"])) == (
        "174",
        D("0.1"),
        D("0.1"),
        D(2),  # 0.02 BTC at 0.01 a contract
    )
    assert (eth["subType"], D(eth["balChg"]), D(eth["sz"])) == ("173", D("-0.1"), D(4))
    assert {r["instType"] for r in rows} == {"SWAP"}
    assert {r["mgnMode"] for r in rows} == {"cross"}


def test_an_interest_bill_is_a_deduction_on_the_borrowed_quote(
    client: Any, emulator: Emulator
) -> None:
    rows = client.privateGetAccountBills({"type": "7"})["data"]

    charged = booked(emulator, "interest")
    assert len(rows) == len(charged) >= HOURS
    assert {(r["type"], r["subType"], r["ccy"], r["instId"]) for r in rows} == {
        ("7", "9", "USDT", "")
    }
    assert all(D(r["balChg"]) < 0 and D(r["interest"]) == -D(r["balChg"]) for r in rows)
    newest = max(charged, key=lambda b: b.id)
    assert rows[0]["billId"] == str(newest.id)  # newest first
    assert D(rows[0]["bal"]) == emulator.exchange.account.wallet_balance  # nothing since


def test_the_bills_serve_seven_days_and_the_archive_three_months(
    client: Any, emulator: Emulator
) -> None:
    recent = client.privateGetAccountBills({"type": "8"})["data"]
    archived = client.privateGetAccountBillsArchive({"type": "8"})["data"]

    week_ago = emulator.exchange.now_ms() - 7 * 86_400_000
    funding = booked(emulator, "funding")
    in_week = [b for b in funding if b.at.timestamp() * 1000 >= week_ago]
    assert 0 < len(in_week) < len(funding)
    assert sorted(r["billId"] for r in recent) == sorted(str(b.id) for b in in_week)
    assert len(archived) == len(funding)


def test_pages_run_backwards_with_after_and_forwards_with_before(client: Any) -> None:
    everything = client.privateGetAccountBillsArchive({"type": "8"})["data"]
    ids = [int(r["billId"]) for r in everything]

    first = client.privateGetAccountBillsArchive({"type": "8", "limit": "25"})["data"]
    older = client.privateGetAccountBillsArchive(
        {"type": "8", "limit": "25", "after": first[-1]["billId"]}
    )["data"]
    newer = client.privateGetAccountBillsArchive(
        {"type": "8", "limit": "5", "before": older[0]["billId"]}
    )["data"]

    assert ids == sorted(ids, reverse=True)
    assert [int(r["billId"]) for r in first + older] == ids[:50]
    assert [int(r["billId"]) for r in newer] == ids[20:25]  # the five just newer, newest first


def test_begin_and_end_bound_the_bills_by_time(client: Any, emulator: Emulator) -> None:
    funding = sorted(booked(emulator, "funding"), key=lambda b: b.at)
    begin, end = funding[10].at, funding[19].at
    rows = client.privateGetAccountBillsArchive(
        {
            "type": "8",
            "begin": str(int(begin.timestamp() * 1000)),
            "end": str(int(end.timestamp() * 1000)),
        }
    )["data"]

    assert sorted(r["billId"] for r in rows) == sorted(
        str(b.id) for b in funding if begin <= b.at <= end
    )


@pytest.mark.parametrize("query", [{"limit": "101"}, {"limit": "0"}, {"after": "x"}])
def test_a_bad_paging_parameter_is_refused_with_51000(client: Any, query: dict[str, str]) -> None:
    with pytest.raises(ccxt.ExchangeError, match="51000"):
        client.privateGetAccountBills({"type": "8", **query})
