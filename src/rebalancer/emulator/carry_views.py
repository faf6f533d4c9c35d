"""The venue's carry history as its endpoints answer it (from the `CarryBook`).

Binance: GET /fapi/v1/income (`incomeType=FUNDING_FEE`; ascending by time; the last seven
days when no time is given; at most 1000 rows). Bybit: GET /v5/execution/list with
`execType=Funding` (`execFee` is what the account paid, negative when it received; `feeRate`
the funding rate; `execValue` the position's value) and GET /v5/account/transaction-log with
`type=INTEREST` (`change` signed), both limited to seven days per query and paged by an opaque
cursor, newest first as Bybit answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rebalancer.emulator.bybit import BybitError, ok, text
from rebalancer.emulator.carry_book import Booking
from rebalancer.emulator.errors import BinanceError
from rebalancer.emulator.exchange import Exchange
from rebalancer.emulator.params import int_param
from rebalancer.emulator.render import fmt

WEEK_MS = 7 * 86_400_000


def _ms(booking: Booking) -> int:
    return int(booking.at.timestamp() * 1000)


def income(exchange: Exchange, params: Mapping[str, str]) -> list[object]:
    """GET /fapi/v1/income (funding fees only: the emulator books no other income)."""
    limit = int_param(params, "limit") or 100
    if not 1 <= limit <= 1000:
        raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")
    kind = params.get("incomeType")
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    now = exchange.now_ms()
    if start is None and end is None:
        start = now - WEEK_MS
    end = now if end is None else end
    start = 0 if start is None else start
    symbol = params.get("symbol")
    with exchange.lock:
        rows = [
            b
            for b in exchange.carry.between("funding", start, end)
            if not symbol or b.subject == symbol
        ]
    if kind not in (None, "", "FUNDING_FEE"):
        rows = []
    return [
        {
            "symbol": b.subject,
            "incomeType": "FUNDING_FEE",
            "income": fmt(b.amount, 8),
            "asset": exchange.account.quote,
            "info": "FUNDING_FEE",
            "time": _ms(b),
            "tranId": b.id,
            "tradeId": "",
        }
        for b in rows[:limit]
    ]


def _window(exchange: Exchange, params: Mapping[str, Any]) -> tuple[int, int]:
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    if start is None and end is None:
        end = exchange.now_ms()
    if end is None:
        end = (start or 0) + WEEK_MS
    if start is None:
        start = end - WEEK_MS
    if end - start > WEEK_MS or end < start:
        raise BybitError(10001, "The time range between startTime and endTime must be 7 days")
    return start, end


def _page(
    rows: list[Booking], params: Mapping[str, Any], default: int, most: int
) -> tuple[list[Booking], str]:
    limit = int_param(params, "limit") or default
    if not 1 <= limit <= most:
        raise BybitError(10001, "params error: limit")
    cursor = str(params.get("cursor") or "0")
    if not cursor.isdigit():
        raise BybitError(10001, "params error: cursor")
    offset = int(cursor)
    newest_first = sorted(rows, key=lambda b: (b.at, b.id), reverse=True)
    page = newest_first[offset : offset + limit]
    more = offset + limit < len(newest_first)
    return page, str(offset + limit) if more else ""


def executions(exchange: Exchange, params: Mapping[str, Any]) -> object:
    """GET /v5/execution/list: funding executions of linear perps."""
    if params.get("category") != "linear":
        raise BybitError(10001, "params error: category")
    start, end = _window(exchange, params)
    symbol = params.get("symbol")
    with exchange.lock:
        rows = [
            b
            for b in exchange.carry.between("funding", start, end)
            if not symbol or b.subject == symbol
        ]
    if params.get("execType") not in (None, "", "Funding"):
        rows = []  # the emulator serves funding executions only
    page, cursor = _page(rows, params, 50, 100)
    return ok(
        {
            "category": "linear",
            "list": [
                {
                    "symbol": b.subject,
                    "execId": f"funding-{b.id}",
                    "execTime": str(_ms(b)),
                    "execType": "Funding",
                    "execFee": text(-b.amount),
                    "feeRate": text(b.rate),
                    "execValue": text(b.notional),
                    "execPrice": "0",
                    "execQty": "0",
                    "side": b.side,
                    "orderId": "",
                    "orderLinkId": "",
                    "isMaker": False,
                }
                for b in page
            ],
            "nextPageCursor": cursor,
        }
    )


def transaction_log(exchange: Exchange, params: Mapping[str, Any]) -> object:
    """GET /v5/account/transaction-log: interest charged on borrowed coins."""
    if params.get("accountType", "UNIFIED") != "UNIFIED":
        raise BybitError(10001, "accountType only support UNIFIED.")
    start, end = _window(exchange, params)
    currency = params.get("currency")
    with exchange.lock:
        rows = [
            b
            for b in exchange.carry.between("interest", start, end)
            if not currency or b.subject == currency
        ]
    if params.get("type") not in (None, "", "INTEREST"):
        rows = []  # the emulator books interest only
    page, cursor = _page(rows, params, 20, 50)
    return ok(
        {
            "list": [
                {
                    "id": f"interest-{b.id}",
                    "symbol": "",
                    "category": "",
                    "side": "",
                    "transactionTime": str(_ms(b)),
                    "type": "INTEREST",
                    "qty": "0",
                    "size": "0",
                    "currency": b.subject,
                    "tradePrice": "0",
                    "funding": "0",
                    "fee": "0",
                    "cashFlow": "0",
                    "change": text(b.amount),
                    "cashBalance": "0",
                    "feeRate": text(b.rate),
                    "bonusChange": "",
                    "tradeId": "",
                    "orderId": "",
                    "orderLinkId": "",
                }
                for b in page
            ],
            "nextPageCursor": cursor,
        }
    )
