"""OKX V5 carry reads: funding fees and interest deductions from the trading account's bills.

The bills (`/api/v5/account/bills`) cover the last seven days, the archive
(`/api/v5/account/bills-archive`) the last three months; both filter by `type` (8 funding fee,
7 interest deduction), `ccy`, and `begin`/`end` in milliseconds, answer newest first, at most
100 rows a page, and page backwards with `after` = the oldest bill id seen (ccxt's
`fetch_funding_history` reads the archive with `type=8`). A window wholly inside the recent
seven days reads the bills, an older one the archive; funding and interest are two streams read
side by side: one or two reads per page. Only bills in the quote currency are read: those are
what the ledger counts (funding of the linear swaps, interest on the borrowed quote; a borrowed
coin is refused by the account read). `balChg` is the change the account saw, negative when it
paid; each bill's id is its key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from rebalancer.domain.ledger import CarryEntry, CarryKind, CarryRead
from rebalancer.exchange.errors import MalformedResponse
from rebalancer.exchange.parse import mapping, number
from rebalancer.exchange.venues.base import Venue, epoch_ms, from_ms

RECENT = timedelta(days=7)  # what `account/bills` serves
ARCHIVE = timedelta(days=90)  # what `account/bills-archive` serves: the last three months
MARGIN = timedelta(hours=1)  # the venue's clock runs on while the read is under way
PAGE = 100  # the most rows either endpoint answers at once
FUNDING_FEE, INTEREST_DEDUCTION = "8", "7"
_BILLS, _ARCHIVE = "privateGetAccountBills", "privateGetAccountBillsArchive"


async def read_carry(venue: Venue, since: datetime, until: datetime) -> CarryRead:
    """Funding fees per swap and interest deductions on the quote booked in [since, until]."""
    served_from = until - ARCHIVE
    start = max(since, served_from)
    endpoint = _BILLS if start >= until - RECENT + MARGIN else _ARCHIVE
    window = {"ccy": venue.quote, "begin": epoch_ms(start), "end": epoch_ms(until)}
    funding, interest = await asyncio.gather(
        _paged(venue, endpoint, {"type": FUNDING_FEE, **window}),
        _paged(venue, endpoint, {"type": INTEREST_DEDUCTION, **window}),
    )
    entries = [_entry(venue, row, CarryKind.FUNDING) for row in funding]
    entries += [_entry(venue, row, CarryKind.INTEREST) for row in interest]
    return CarryRead(tuple(entries), served_from)


async def _paged(venue: Venue, endpoint: str, query: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every bill of the query, newest first, a page of `PAGE` at a time."""
    rows: list[Mapping[str, Any]] = []
    after = ""
    while True:
        params = {**query, "limit": str(PAGE), **({"after": after} if after else {})}
        answer = mapping(await venue.read(endpoint, params), endpoint)
        page = answer.get("data")
        if not isinstance(page, list):
            raise MalformedResponse(f"exchange answer to {endpoint} has no data list")
        bills = [mapping(r, "bill") for r in page]
        rows += bills
        if len(bills) < PAGE:
            return rows
        oldest = _bill_id(bills[-1])
        if after and int(oldest) >= int(after):  # a page that does not move back would loop
            raise MalformedResponse(f"exchange answer to {endpoint} pages forwards at {oldest}")
        after = oldest


def _bill_id(row: Mapping[str, Any]) -> str:
    ident = str(row.get("billId") or "")
    if not ident.isdigit():
        raise MalformedResponse(f"exchange answer has a bill with billId {row.get('billId')!r}")
    return ident


def _entry(venue: Venue, row: Mapping[str, Any], kind: CarryKind) -> CarryEntry:
    ident = _bill_id(row)
    where = f"bill {ident}"
    if kind is CarryKind.FUNDING:
        market_id = str(row.get("instId") or "")
        subject = venue.symbol_of(market_id) or market_id
    else:
        subject = str(row.get("ccy") or "")
    if not subject:
        raise MalformedResponse(f"exchange answer has no instrument or currency at {where}")
    return CarryEntry(
        kind=kind,
        key=ident,
        at=from_ms(row.get("ts"), f"{where}.ts"),
        subject=subject,
        amount=number(row.get("balChg"), f"{where}.balChg", signed=True),
        source="okx",
    )
