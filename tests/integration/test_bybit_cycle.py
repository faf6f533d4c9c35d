"""What only Bybit V5 (unified account) does, through the real ccxt client against the
emulator's Bybit dialect: the unified figures of the seed example, retCode refusals, 10006
storms over every read, and order history that covers seven days per query.

What every venue does (a cycle, a second cycle, lost answers, 10016, lagging lookups, 429/5xx,
dry-run, kill switch, crash recovery) runs on Bybit through `tests.integration.venues`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from rebalancer.domain.snapshot import AccountKind
from rebalancer.emulator import Emulator, Fault
from rebalancer.emulator.orders import OrderType
from rebalancer.emulator.params import OrderRequest
from rebalancer.exchange.port import OrderState
from rebalancer.service.ids import client_order_id, new_run_id
from rebalancer.sim import Side
from tests.integration.harness import (
    cycle,
    gateway_for,
    order_count,
    position,
    posts,
    seed_state,
    settings_for,
    utcnow,
)

D = Decimal
STEP = D("0.001")
BATCH = "/v5/order/create-batch"


def bybit(**extra: object) -> Emulator:
    """The seed example's state as a unified account: 0.14 BTC, 1.2 ETH and 2,000 USDT in one
    wallet (the emulator moves the futures wallet's USDT into it)."""
    return Emulator(seed_state(), venue="bybit", **extra)  # type: ignore[arg-type]


def test_the_seed_example_ends_short_btc_and_long_eth_of_about_1000_each(tmp_path: Path) -> None:
    with bybit() as emu:
        result = cycle(tmp_path, emu)

        assert result.ok, result.error
        assert abs(position(emu, "BTCUSDT") - D("-0.02")) <= STEP
        assert abs(position(emu, "ETHUSDT") - D("0.4")) <= STEP
        assert emu.exchange.account.leverage("BTCUSDT") == 1
        assert result.before is not None
        snapshot = result.before
        assert snapshot.kind is AccountKind.UNIFIED
        # V counts the USDT once: 7,000 + 3,000 + 2,000; K is the exchange's collateral value.
        assert snapshot.equity == D("12000")
        assert snapshot.collateral == D("11500")  # 0.95 x 10,000 + 2,000
        assert posts(emu, BATCH) == 1


def test_a_bybit_order_refusal_is_journaled_rejected(tmp_path: Path) -> None:
    with bybit() as emu:
        emu.inject(Fault.binance_error(110007, "ab not enough for new order", path=BATCH))

        result = cycle(tmp_path, emu)

        assert order_count(emu) == 0
        assert result.reports
        assert all(r.error_code == 110007 for r in result.reports)


def test_a_10006_storm_over_every_read_is_waited_out_and_the_cycle_completes(
    tmp_path: Path,
) -> None:
    with bybit() as emu:
        for path in ("/v5/account/wallet-balance", "/v5/position/list", "/v5/market/tickers"):
            emu.inject(Fault.http_status(429, count=3, path=path))  # retCode 10006, HTTP 200

        result = cycle(tmp_path, emu)

        assert result.ok, result.error
        assert order_count(emu) == 2
        assert posts(emu, BATCH) == 1


# The emulator's clock, moved back only while an old order is placed in-process: signed
# requests are checked against the same clock, so every request goes at the present.
shift = [timedelta(0)]


def _shifted_clock() -> datetime:
    return datetime.now(UTC) + shift[0]


def _old_order(emu: Emulator, days: int) -> str:
    """A filled order sent by a run `days` ago, as the emulator's history keeps it."""
    shift[0] = -timedelta(days=days)
    client_id = client_order_id(new_run_id(utcnow() + shift[0]), 0)
    try:
        emu.exchange.place_futures_order(
            OrderRequest(
                symbol="BTCUSDT",
                side=Side.SELL,
                type=OrderType.MARKET,
                qty=D("0.01"),
                quote_qty=None,
                price=None,
                time_in_force="IOC",
                reduce_only=False,
                client_order_id=client_id,
                position_side=None,
                response_type=None,
            )
        )
    finally:
        shift[0] = timedelta(0)
    return client_id


def _history(tmp: Path, emu: Emulator, *client_ids: str) -> list[int]:
    """How many rows Bybit's order history answers for each id, asked without a window."""
    gateway = gateway_for(settings_for(tmp, emu))

    async def go() -> list[int]:
        try:
            counts = []
            for client_id in client_ids:
                query = {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": client_id}
                answer = await gateway.read("privateGetV5OrderHistory", query)
                counts.append(len(answer["result"]["list"]))
            return counts
        finally:
            await gateway.close()

    return asyncio.run(go())


def test_an_order_of_a_run_ten_days_old_is_found_in_its_runs_seven_day_window(
    tmp_path: Path,
) -> None:
    with Emulator(seed_state(), venue="bybit", clock=_shifted_clock) as emu:
        client_id = _old_order(emu, days=10)
        gateway = gateway_for(settings_for(tmp_path, emu))

        async def look() -> object:
            try:
                return await gateway.lookup("BTC/USDT:USDT", client_id)
            finally:
                await gateway.close()

        report = asyncio.run(look())

        assert report is not None
        assert report.state is OrderState.FILLED  # type: ignore[attr-defined]
        assert report.filled == D("0.01")  # type: ignore[attr-defined]
        assert posts(emu, BATCH) == 0  # found, not re-sent
        history = [r for r in emu.requests() if r.path == "/v5/order/history"]
        assert len(history) == 1  # one windowed query, not a walk back through the weeks


def test_bybits_default_history_window_does_not_show_an_order_older_than_seven_days(
    tmp_path: Path,
) -> None:
    # Why the lookup asks for the run's window: without one, Bybit answers the last 7 days.
    with Emulator(seed_state(), venue="bybit", clock=_shifted_clock) as emu:
        old, recent = _old_order(emu, days=8), _old_order(emu, days=6)

        assert _history(tmp_path, emu, old, recent) == [0, 1]
