"""Synthetic price and funding history: GET /api/v3/klines (1d) and GET /fapi/v1/fundingRate.

The series are deterministic so tests can check pagination exactly. A symbol's daily closes are
a seeded random walk anchored at `ANCHOR_DAY`, where the close equals the emulator's current
price (spot price for klines, mark price for funding rows); every other day is that price times
`exp(level)`, `level` being the sum of per-day log steps drawn from a hash of (symbol, day).
Candles exist from `KLINES_START` to the emulator clock's day (the last one still open); funding
events every 8 hours from `FUNDING_START` to the clock, with rates a seeded wobble around the
symbol's current funding rate. Parameters, limits and answer shapes follow Binance's; each query
is kept in `queries(exchange)` so a test can see which ranges a client asked for.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

from rebalancer.emulator.errors import BinanceError, bad_param, invalid_symbol
from rebalancer.emulator.exchange import Exchange
from rebalancer.emulator.params import int_param, required
from rebalancer.emulator.render import fmt

DAY_MS = 86_400_000
FUNDING_INTERVAL_MS = 8 * 3_600_000
ANCHOR_DAY = date(2024, 1, 1)
KLINES_START = date(2017, 8, 17)  # Binance's first BTCUSDT daily candle
FUNDING_START = date(2019, 9, 10)  # the first USDⓈ-M funding event
MAX_LIMIT = 1000
KLINES_DEFAULT_LIMIT = 500
FUNDING_DEFAULT_LIMIT = 100
_MAX_STEP_BPS = 250  # largest daily log step, in basis points
_SPAN_DAYS = 40_000  # days of walk precomputed after KLINES_START (to ~2127)
_EPOCH_DAY = date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """One history request as the emulator received it (times in epoch ms, None when absent)."""

    path: str
    symbol: str
    start_ms: int | None
    end_ms: int | None
    limit: int


_QUERIES: weakref.WeakKeyDictionary[Exchange, list[HistoryQuery]] = weakref.WeakKeyDictionary()


def queries(exchange: Exchange) -> list[HistoryQuery]:
    """The history requests served by `exchange`, oldest first."""
    with exchange.lock:
        return list(_QUERIES.get(exchange, []))


def _record(exchange: Exchange, query: HistoryQuery) -> None:
    with exchange.lock:
        _QUERIES.setdefault(exchange, []).append(query)


def _day_number(day: date) -> int:
    return day.toordinal() - _EPOCH_DAY


def _hash(symbol: str, kind: str, index: int) -> int:
    digest = hashlib.blake2b(f"{symbol}:{kind}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@lru_cache(maxsize=64)
def _levels(symbol: str) -> tuple[int, ...]:
    """Cumulative log level (basis points) per day from KLINES_START, zero at ANCHOR_DAY."""
    first = _day_number(KLINES_START)
    total = 0
    raw: list[int] = []
    for offset in range(_SPAN_DAYS):
        step = _hash(symbol, "walk", first + offset) % (2 * _MAX_STEP_BPS + 1) - _MAX_STEP_BPS
        total += step
        raw.append(total)
    zero = raw[_day_number(ANCHOR_DAY) - first]
    return tuple(level - zero for level in raw)


def close_on(symbol: str, anchor_price: Decimal, day_number: int, tick: Decimal) -> Decimal:
    """The close of the daily candle opening on epoch day `day_number`, on the `tick` grid."""
    level = _levels(symbol)[day_number - _day_number(KLINES_START)]
    factor = Decimal(level).scaleb(-4).exp()
    price = (anchor_price * factor).quantize(tick, rounding=ROUND_HALF_EVEN)
    return max(price, tick)


def _limit(params: Mapping[str, str], default: int) -> int:
    limit = int_param(params, "limit")
    if limit is None:
        return default
    if not 1 <= limit <= MAX_LIMIT:
        raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")
    return limit


def _window(
    first: int, last: int, start: int | None, end: int | None, limit: int
) -> tuple[int, int]:
    """Indexes [lo, hi] of the answer: from `start` forwards, else the newest up to `end`."""
    lo = first if start is None else max(first, start)
    hi = last if end is None else min(last, end)
    if hi < lo:
        return lo, lo - 1
    if start is None:
        return max(lo, hi - limit + 1), hi
    return lo, min(hi, lo + limit - 1)


def _ceil_div(value: int, step: int) -> int:
    return -(-value // step)


def klines(exchange: Exchange, params: Mapping[str, str]) -> list[list[object]]:
    """GET /api/v3/klines for interval 1d."""
    symbol = required(params, "symbol")
    interval = required(params, "interval")
    market = exchange.account.spot.market(symbol)
    price = exchange.account.spot.price(symbol)
    if market is None or price is None:
        raise invalid_symbol()
    if interval != "1d":
        raise BinanceError(-1120, "Invalid interval.")
    limit = _limit(params, KLINES_DEFAULT_LIMIT)
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    _record(exchange, HistoryQuery("/api/v3/klines", symbol, start, end, limit))
    first = _day_number(KLINES_START)
    last = exchange.now_ms() // DAY_MS
    lo, hi = _window(
        first,
        last,
        None if start is None else _ceil_div(start, DAY_MS),
        None if end is None else end // DAY_MS,
        limit,
    )
    rows: list[list[object]] = []
    tick = market.tick_size
    for day in range(lo, hi + 1):
        open_ = close_on(symbol, price, day - 1, tick) if day > first else price
        close = close_on(symbol, price, day, tick)
        high = max(open_, close) * Decimal("1.01")
        low = min(open_, close) * Decimal("0.99")
        volume = Decimal(1000 + _hash(symbol, "volume", day) % 9000)
        rows.append(
            [
                day * DAY_MS,
                fmt(open_, 8),
                fmt(high.quantize(tick), 8),
                fmt(low.quantize(tick), 8),
                fmt(close, 8),
                fmt(volume, 8),
                (day + 1) * DAY_MS - 1,
                fmt(volume * close, 8),
                1000,
                fmt(volume / 2, 8),
                fmt(volume * close / 2, 8),
                "0",
            ]
        )
    return rows


def funding_rate_history(exchange: Exchange, params: Mapping[str, str]) -> list[object]:
    """GET /fapi/v1/fundingRate for one symbol (ascending, as Binance answers)."""
    symbol = params.get("symbol")
    if not symbol:
        raise bad_param("symbol")
    spec = exchange.account.perp_spec(symbol)
    mark = exchange.account.mark(symbol)
    if spec is None or mark is None:
        raise invalid_symbol()
    limit = _limit(params, FUNDING_DEFAULT_LIMIT)
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    _record(exchange, HistoryQuery("/fapi/v1/fundingRate", symbol, start, end, limit))
    base = exchange.funding_rates.get(symbol, Decimal("0.0001"))
    first = _day_number(FUNDING_START) * DAY_MS // FUNDING_INTERVAL_MS
    last = exchange.now_ms() // FUNDING_INTERVAL_MS
    lo, hi = _window(
        first,
        last,
        None if start is None else _ceil_div(start, FUNDING_INTERVAL_MS),
        None if end is None else end // FUNDING_INTERVAL_MS,
        limit,
    )
    rows: list[object] = []
    for event in range(lo, hi + 1):
        at = event * FUNDING_INTERVAL_MS
        wobble = Decimal(_hash(symbol, "funding", event) % 41 - 20).scaleb(-5)
        day_close = close_on(symbol, mark, at // DAY_MS, spec.tick_size)
        rows.append(
            {
                "symbol": symbol,
                "fundingTime": at,
                "fundingRate": fmt(base + wobble, 8),
                "markPrice": fmt(day_close, 8),
            }
        )
    return rows
