"""The OKX dialect's carry read on hand-made bills: which endpoint a window reads, how pages
chain by bill id, what each bill becomes, and the answers it refuses."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rebalancer.domain.ledger import CarryKind, CarryRead
from rebalancer.exchange.errors import MalformedResponse
from rebalancer.exchange.venues.okx import Okx
from rebalancer.exchange.venues.okx_carry import ARCHIVE, PAGE

D = Decimal
NOW = datetime(2026, 6, 1, tzinfo=UTC)
IDS = {"BTC-USDT-SWAP": "BTC/USDT:USDT"}


def bill(ident: int, kind: str, at: datetime, change: str) -> dict[str, str]:
    return {
        "billId": str(ident),
        "type": kind,
        "ccy": "USDT",
        "instId": "BTC-USDT-SWAP" if kind == "8" else "",
        "ts": str(int(at.timestamp() * 1000)),
        "balChg": change,
    }


class BillsVenue:
    """Serves bills as OKX does: filtered by type and begin/end, newest first, `after`."""

    quote = "USDT"
    client: Any = None

    def __init__(self, bills: list[dict[str, str]], pages: list[Any] | None = None) -> None:
        self.bills = bills
        self.pages = pages  # canned answers instead, in order
        self.calls: list[tuple[str, Mapping[str, Any]]] = []

    async def read(self, name: str, *args: Any) -> Any:
        params = args[0]
        self.calls.append((name, params))
        if self.pages is not None:
            return self.pages.pop(0)
        rows = [
            b
            for b in self.bills
            if b["type"] == params["type"]
            and b["ccy"] == params["ccy"]
            and params["begin"] <= int(b["ts"]) <= params["end"]
            and ("after" not in params or int(b["billId"]) < int(params["after"]))
        ]
        rows.sort(key=lambda b: int(b["billId"]), reverse=True)
        return {"code": "0", "msg": "", "data": rows[: int(params["limit"])]}

    def symbol_of(self, market_id: str) -> str | None:
        return IDS.get(market_id)


def carry(venue: BillsVenue, since: datetime, until: datetime = NOW) -> CarryRead:
    return asyncio.run(Okx().carry(venue, since, until))  # type: ignore[arg-type]


def test_a_recent_window_reads_the_bills_and_an_older_one_the_archive() -> None:
    venue = BillsVenue([])
    carry(venue, NOW - timedelta(days=2))
    carry(venue, NOW - timedelta(days=8))

    assert [name for name, _ in venue.calls] == [
        "privateGetAccountBills",
        "privateGetAccountBills",
        "privateGetAccountBillsArchive",
        "privateGetAccountBillsArchive",
    ]
    assert sorted(p["type"] for _, p in venue.calls[:2]) == ["7", "8"]
    assert {(p["ccy"], p["limit"]) for _, p in venue.calls} == {("USDT", str(PAGE))}


def test_a_window_older_than_the_archive_is_read_from_three_months_back_and_said() -> None:
    venue = BillsVenue([])
    got = carry(venue, NOW - timedelta(days=400))

    assert got.served_from == NOW - ARCHIVE
    begin = datetime.fromtimestamp(venue.calls[0][1]["begin"] / 1000, UTC)
    assert begin == NOW - ARCHIVE


def test_funding_and_interest_bills_become_entries_keyed_by_bill_id() -> None:
    venue = BillsVenue(
        [
            bill(11, "8", NOW - timedelta(hours=8), "0.25"),
            bill(12, "7", NOW - timedelta(hours=1), "-0.0125"),
        ]
    )
    got = carry(venue, NOW - timedelta(days=1))

    funding, interest = sorted(got.entries, key=lambda e: e.key)
    assert (funding.kind, funding.key, funding.subject, funding.amount) == (
        CarryKind.FUNDING,
        "11",
        "BTC/USDT:USDT",
        D("0.25"),
    )
    assert (interest.kind, interest.subject, interest.amount) == (
        CarryKind.INTEREST,
        "USDT",
        D("-0.0125"),
    )
    assert interest.at == NOW - timedelta(hours=1)
    assert {e.source for e in got.entries} == {"okx"}


@settings(max_examples=40, deadline=None)
@given(
    funding=st.integers(min_value=0, max_value=3 * PAGE),
    interest=st.integers(min_value=0, max_value=2 * PAGE + 1),
)
def test_every_bill_in_the_window_is_read_once_whatever_the_pages(
    funding: int, interest: int
) -> None:
    since = NOW - timedelta(days=5)
    bills = [bill(100 + i, "8", since + timedelta(minutes=i), "-0.1") for i in range(funding)]
    bills += [bill(5000 + i, "7", since + timedelta(minutes=i), "-0.01") for i in range(interest)]
    bills += [bill(1, "8", since - timedelta(minutes=1), "9")]  # before the window
    venue = BillsVenue(bills)

    got = carry(venue, since)

    assert sorted(int(e.key) for e in got.entries) == sorted(int(b["billId"]) for b in bills[:-1])
    # A short page ends a stream: full pages plus one for each of the two.
    assert len(venue.calls) == funding // PAGE + interest // PAGE + 2


def full_page(start: int) -> dict[str, Any]:
    rows = [bill(start - i, "8", NOW - timedelta(hours=1), "1") for i in range(PAGE)]
    return {"code": "0", "data": rows}


@pytest.mark.parametrize(
    ("pages", "field"),
    [
        ([{"code": "0", "data": [{"billId": "", "ts": "1", "balChg": "1"}]}], "billId"),
        ([{"code": "0", "data": [{"billId": "3", "balChg": "1", "instId": "X"}]}], "bill 3.ts"),
        ([{"code": "0", "data": [{"billId": "3", "ts": "1", "instId": "X"}]}], "bill 3.balChg"),
        ([{"code": "0"}], "no data list"),
        ([full_page(500), full_page(700)], "pages forwards"),
    ],
)
def test_a_malformed_bills_answer_fails_the_read_naming_the_field(
    pages: list[Any], field: str
) -> None:
    empty = {"code": "0", "data": []}
    venue = BillsVenue([], pages=[*pages, empty, empty])

    with pytest.raises(MalformedResponse, match=field):
        carry(venue, NOW - timedelta(days=1))
