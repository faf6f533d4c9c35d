"""The seed example live on a Bybit V5 unified account: the real ccxt client against the
emulator's Bybit dialect (ack-only creates, retCode answers, coins as collateral)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from rebalancer.domain.lifecycle import RunState
from rebalancer.domain.snapshot import AccountKind
from rebalancer.emulator import Emulator, Fault
from rebalancer.service.cycle import CycleResult, run_cycle
from rebalancer.service.memory_journal import MemoryJournal
from tests.integration.harness import (
    OPEN,
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


def cycle(tmp: Path, emulator: Emulator, *, mode: str = "live") -> CycleResult:
    settings = settings_for(tmp, emulator)
    gateway = gateway_for(settings)

    async def go() -> CycleResult:
        try:
            return await run_cycle(settings, gateway, MemoryJournal(), utcnow, gate=OPEN, mode=mode)
        finally:
            await gateway.close()

    return asyncio.run(go())


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


def test_a_second_cycle_without_drift_places_nothing(tmp_path: Path) -> None:
    with bybit() as emu:
        assert cycle(tmp_path, emu).ok
        orders = order_count(emu)
        emu.clear_requests()

        second = cycle(tmp_path, emu)

        assert second.ok, second.error
        assert second.plan is not None
        assert second.plan.orders == ()
        assert order_count(emu) == orders
        assert posts(emu, BATCH) == 0


def test_a_lost_create_answer_leaves_exactly_one_order_found_by_order_link_id(
    tmp_path: Path,
) -> None:
    with bybit() as emu:
        emu.inject(Fault.response_lost(path=BATCH))

        result = cycle(tmp_path, emu)

        assert result.ok, result.error
        assert order_count(emu) == 2  # one per leg, none sent twice
        assert posts(emu, BATCH) == 1
        assert abs(position(emu, "BTCUSDT") - D("-0.02")) <= STEP
        assert any(r.path == "/v5/order/history" for r in emu.requests())


def test_dry_run_sends_no_order(tmp_path: Path) -> None:
    with bybit() as emu:
        result = cycle(tmp_path, emu, mode="dry-run")

        assert result.state is RunState.COMPLETED, result.error
        assert order_count(emu) == 0
        assert all(r.method == "GET" for r in emu.requests())


def test_a_10016_after_the_batch_executed_is_resolved_by_lookup_not_resent(
    tmp_path: Path,
) -> None:
    with bybit() as emu:
        emu.inject(Fault.unknown_execution(executed=True, path=BATCH))

        result = cycle(tmp_path, emu)

        assert result.ok, result.error
        assert result.unresolved == ()
        assert order_count(emu) == 2
        assert posts(emu, BATCH) == 1


def test_a_10016_before_execution_leaves_the_orders_unknown_never_resent(tmp_path: Path) -> None:
    with bybit() as emu:
        emu.inject(Fault.unknown_execution(executed=False, path=BATCH))

        result = cycle(tmp_path, emu)

        assert len(result.unresolved) == 2  # not found by orderLinkId: unknown, circuit opens
        assert order_count(emu) == 0
        assert posts(emu, BATCH) == 1


def test_rate_limited_reads_retcode_10006_are_retried(tmp_path: Path) -> None:
    with bybit() as emu:
        emu.inject(Fault.http_status(429, count=2, path="/v5/account/wallet-balance"))

        result = cycle(tmp_path, emu)

        assert result.ok, result.error
        assert abs(position(emu, "ETHUSDT") - D("0.4")) <= STEP


def test_a_bybit_order_refusal_is_journaled_rejected(tmp_path: Path) -> None:
    with bybit() as emu:
        emu.inject(Fault.binance_error(110007, "ab not enough for new order", path=BATCH))

        result = cycle(tmp_path, emu)

        assert order_count(emu) == 0
        assert result.reports
        assert all(r.error_code == 110007 for r in result.reports)
