"""One live cycle against the local emulator with a fixed injected latency.

Run: .venv/bin/python benchmarks/bench_cycle.py [--latency-ms 50] [--venue binance|bybit|okx]
     .venv/bin/python benchmarks/bench_cycle.py --all-venues [--n 10 --k 10]

For N assets of which K change (half rally, half fall by the same amount, so equity and the
other lines stay put), after a first cycle that does the one-time setup and hedges everything,
it measures the second cycle: REST calls, request weight, and wall time as a multiple of the
latency; and, in the same run, a naive sequential baseline (per-asset reads and one order at a
time). Goals: calls <= 4 + ceil(K/5) (plus our one post-trade check), wall <= 4 x latency at
N = K = 100, and >= 50x faster than the baseline there. On Bybit (`--venue bybit`, unified
account) the floor is 5 reads + ceil(K/10) batches, and every order is then looked up by its
orderLinkId because a create answer is an ack only (open orders, then history: up to 2 per
order). On OKX (`--venue okx`, multi-currency margin) the floor is 5 reads (balance, positions,
marks, funding rates, spot tickers) + ceil(K/20) batches, and each accepted order is looked up
once by clOrdId (the answer is an ack only). The naive baseline is Binance's only.

`--all-venues` prints one table over every venue the emulator speaks, for one N and K: calls
per cycle, round trips (wall time / latency: the sequential waits), the venue's floor (the
fewest calls it allows for a snapshot + placement + confirmation, `Dialect.call_floor` in each
dialect's module) and calls / floor (docs/venues.md).

What the floor counts: one cycle's snapshot reads, its perp market orders in the venue's
batches, and learning their fills; nothing else. The benchmark's config enables no `[policy]`,
so its cycles never roll, and neither the floor nor the calls measured count a roll's spot
orders: each is sent on its own (one create call, never batched), and on Bybit and OKX, whose
answer is an ack, looked up for its fill (at least one more call). A roll's reduce-only perp
closes are perp orders and go in the batches like any other.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from rebalancer.config import load_settings
from rebalancer.config.model import EMULATED_VENUES
from rebalancer.emulator import (
    DEFAULT_API_KEY,
    DEFAULT_API_PASSPHRASE,
    DEFAULT_API_SECRET,
    Emulator,
    EmulatorState,
    ccxt_config,
)
from rebalancer.emulator.config import exchange_section
from rebalancer.exchange.ccxt_client import build_client
from rebalancer.exchange.ccxt_gateway import CcxtGateway
from rebalancer.exchange.venues import dialect_for
from rebalancer.secrets import Credentials
from rebalancer.service.controls import MemoryControls, TradingGate
from rebalancer.service.cycle import run_cycle
from rebalancer.service.memory_journal import MemoryJournal

ENV = {
    "REBALANCER_API_KEY": DEFAULT_API_KEY,
    "REBALANCER_API_SECRET": DEFAULT_API_SECRET,
    "REBALANCER_API_PASSWORD": DEFAULT_API_PASSPHRASE,  # OKX keys have a passphrase
}


def state(n: int) -> EmulatorState:
    names = [f"C{i:03d}" for i in range(n)]
    return EmulatorState.from_json(
        {
            "spot_markets": [
                {"symbol": f"{a}USDT", "base": a, "step_size": "0.001"} for a in names
            ],
            "perp_markets": [
                {"symbol": f"{a}USDT", "base": a, "step_size": "0.001", "min_notional": "5"}
                for a in names
            ],
            "spot_prices": {f"{a}USDT": "100" for a in names},
            "mark_prices": {f"{a}USDT": "100" for a in names},
            "spot_balances": {**{a: str(10 + (i % 7)) for i, a in enumerate(names)}, "USDT": "0"},
            "futures_wallet": str(1000 * n),
        }
    )


def config(tmp: Path, base_url: str, n: int, venue: str = "binance") -> Path:
    weight = f'"1/{n + 1}"'
    targets = ", ".join(f"C{i:03d} = {weight}" for i in range(n))
    path = tmp / "bench.toml"
    path.write_text(
        f'mode = "live"\n[portfolio]\nname = "bench"\ntargets = {{ {targets}, cash = {weight} }}\n'
        f"[hedging]\nmin_trade_notional = 20\n{exchange_section(base_url, venue)}",
        encoding="utf-8",
    )
    return path


def move(emu: Emulator, n: int, k: int) -> None:
    for i in range(k):
        price = Decimal(120) if i % 2 == 0 else Decimal(80)
        emu.set_spot_price(f"C{i:03d}USDT", price)
        emu.set_mark_price(f"C{i:03d}USDT", price)


async def naive_cycle(base_url: str, n: int, k: int) -> float:
    """Per-asset reads, one order at a time: what a straightforward script does."""
    import ccxt.async_support as ccxt_async  # noqa: PLC0415

    client = ccxt_async.binance(
        {
            "apiKey": DEFAULT_API_KEY,
            "secret": DEFAULT_API_SECRET,
            "enableRateLimit": False,
            **ccxt_config(base_url),
        }
    )
    try:
        await client.load_markets()
        start = time.perf_counter()
        await client.fetch_balance({"type": "spot"})
        await client.fetch_balance({"type": "future"})
        for i in range(n):
            await client.fetch_ticker(f"C{i:03d}/USDT")
            await client.fetch_mark_price(f"C{i:03d}/USDT:USDT")
        for i in range(k):
            await client.create_order(f"C{i:03d}/USDT:USDT", "market", "sell", 0.1)
        return time.perf_counter() - start
    finally:
        await client.close()


GOALS = {"binance": (4, 5), "bybit": (5, 10), "okx": (5, 20)}  # (reads, orders per batch)
PREFIXES = {"binance": ("/api", "/fapi", "/sapi"), "bybit": ("/v5",), "okx": ("/api/v5",)}


def run(n: int, k: int, latency: float, naive: bool, venue: str = "binance") -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, Emulator(state(n), venue=venue) as emu:
        settings = load_settings(config(Path(tmp), emu.base_url, n, venue), ENV)
        emu.set_latency(Decimal(str(latency)))
        seconds, ok = asyncio.run(measured_cycle(settings, emu, n, k))
        calls = [r for r in emu.requests() if r.path.startswith(PREFIXES[venue])]
        reads, batch = GOALS[venue]
        row = {
            "N": n,
            "K": k,
            "ok": ok,
            "calls": len(calls),
            "weight": sum(r.weight for r in calls),
            "wall": seconds,
            "x_latency": seconds / latency,
            "goal_calls": reads + math.ceil(k / batch),
            "floor": dialect_for(venue).call_floor(k),
        }
        if naive and venue == "binance":
            emu.clear_requests()
            row["naive"] = asyncio.run(naive_cycle(emu.base_url, n, k))
            row["naive_calls"] = len(emu.requests())
        return row


OPEN = TradingGate(MemoryControls(), "bench")


async def measured_cycle(settings: Any, emu: Emulator, n: int, k: int) -> tuple[float, bool]:
    passphrase = (
        SecretStr(DEFAULT_API_PASSPHRASE) if settings.config.exchange.password_env else None
    )
    credentials = Credentials(SecretStr(DEFAULT_API_KEY), SecretStr(DEFAULT_API_SECRET), passphrase)
    gateway = CcxtGateway(build_client(settings.config.exchange, credentials), quote="USDT")
    clock = lambda: datetime.now(UTC)  # noqa: E731
    try:  # the first cycle does the one-time setup and hedges everything
        first = await run_cycle(settings, gateway, MemoryJournal(), clock, gate=OPEN, mode="live")
        assert first.ok, first.error
        move(emu, n, k)
        emu.clear_requests()
        start = time.perf_counter()
        result = await run_cycle(settings, gateway, MemoryJournal(), clock, gate=OPEN, mode="live")
        return time.perf_counter() - start, result.ok
    finally:
        await gateway.close()


def all_venues(n: int, k: int, latency: float) -> None:
    rows = [(venue, run(n, k, latency, False, venue)) for venue in EMULATED_VENUES]
    print(f"N {n}, K {k} orders, latency {latency * 1000:g} ms, the second cycle")
    print(f"{'venue':<8} {'calls':>6} {'round trips':>12} {'floor':>6} {'ratio':>6}")
    for venue, r in rows:
        print(
            f"{venue:<8} {r['calls']:>6} {r['x_latency']:>12.1f} {r['floor']:>6} "
            f"{r['calls'] / r['floor']:>6.2f}" + ("" if r["ok"] else "  (cycle FAILED)")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--venue", choices=EMULATED_VENUES, default="binance")
    parser.add_argument("--all-venues", action="store_true", help="one table over all venues")
    parser.add_argument("--n", type=int, default=10, help="assets (with --all-venues)")
    parser.add_argument("--k", type=int, default=10, help="assets that move (with --all-venues)")
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    if args.all_venues:
        all_venues(args.n, args.k, latency)
        return
    rows = [
        run(10, 2, latency, False, args.venue),
        run(10, 10, latency, False, args.venue),
        run(100, 10, latency, False, args.venue),
        run(100, 100, latency, True, args.venue),
    ]
    print(f"{args.venue}, latency {args.latency_ms:g} ms")
    print(
        f"{'N':>4} {'K':>4} {'calls':>6} {'goal':>5} {'weight':>7} {'wall s':>7} "
        f"{'x lat':>6} {'naive s':>8} {'naive calls':>11} {'speed-up':>9}"
    )
    for r in rows:
        naive = r.get("naive")
        extra = (
            f"{naive:>8.2f} {r['naive_calls']:>11} {naive / r['wall']:>8.0f}x"
            if naive
            else f"{'':>8} {'':>11} {'':>9}"
        )
        print(
            f"{r['N']:>4} {r['K']:>4} {r['calls']:>6} {r['goal_calls']:>5} {r['weight']:>7} "
            f"{r['wall']:>7.3f} {r['x_latency']:>6.1f} {extra}"
            + ("" if r["ok"] else "  (cycle FAILED)")
        )


if __name__ == "__main__":
    main()
