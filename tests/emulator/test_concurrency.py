"""Concurrent requests overlap: injected latency is paid in parallel, not in series."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import ccxt.async_support as ccxt_async

from rebalancer.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, Emulator, ccxt_config

REQUESTS = 100
LATENCY = Decimal("0.05")


async def _gather_reads(base_url: str) -> tuple[float, list[object]]:
    exchange = ccxt_async.binance(
        {
            "apiKey": DEFAULT_API_KEY,
            "secret": DEFAULT_API_SECRET,
            "enableRateLimit": False,
            **ccxt_config(base_url),
        }
    )
    try:
        await exchange.load_markets()
        started = time.perf_counter()
        calls = [
            exchange.fetch_balance({"type": "future"}) if i % 2 else exchange.fetch_mark_prices()
            for i in range(REQUESTS)
        ]
        results = await asyncio.gather(*calls)
        return time.perf_counter() - started, list(results)
    finally:
        await exchange.close()


def test_one_hundred_concurrent_reads_with_latency_do_not_serialize() -> None:
    with Emulator() as emulator:
        emulator.set_latency(LATENCY)
        elapsed, results = asyncio.run(_gather_reads(emulator.base_url))
        statuses = {r.status for r in emulator.requests()}
    assert len(results) == REQUESTS
    assert statuses == {200}
    # In series this would take 100 x 50 ms = 5 s.
    assert elapsed < 2.0, elapsed
