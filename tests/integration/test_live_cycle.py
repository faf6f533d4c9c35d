"""One live cycle end to end: the real ccxt client against the local emulator, on every venue
of `tests.integration.venues.VENUES` (Binance-shaped malformed bodies stay Binance's)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from rebalancer.domain.lifecycle import OrderStatus, RunState
from rebalancer.emulator import Emulator, Fault
from rebalancer.emulator.faults import BodyKind, malformed
from rebalancer.exchange.venues import dialect_for
from rebalancer.service.cycle import CycleResult, run_cycle
from rebalancer.service.memory_journal import MemoryJournal
from tests.integration.harness import (
    ENV,
    OPEN,
    cycle,
    gateway_for,
    order_count,
    position,
    posts,
    seed_state,
    settings_for,
    utcnow,
    write_config,
)
from tests.integration.venues import PATHS, VENUES

D = Decimal
STEP = D("0.001")
each_venue = pytest.mark.parametrize("venue", VENUES)


@each_venue
def test_the_seed_example_ends_short_btc_and_long_eth_of_about_1000_each(
    tmp_path: Path, venue: str
) -> None:
    with Emulator(seed_state(leverage=20), venue=venue) as emu:
        result = cycle(tmp_path, emu)

        assert result.ok, result.error
        # $1,000 each, less the taker fees the plan reserves: within one 0.001 step.
        assert abs(position(emu, "BTCUSDT") - D("-0.02")) <= STEP
        assert abs(position(emu, "ETHUSDT") - D("0.4")) <= STEP
        assert emu.exchange.account.leverage("BTCUSDT") == 1
        assert emu.exchange.account.leverage("ETHUSDT") == 1
        account = emu.exchange.account
        assert account.initial_margin() <= account.margin_balance()  # gross leverage <= 1
        assert result.residual is not None
        assert result.residual.largest_drift_before < D("0.005")
        assert posts(emu) == 1  # both legs in one batch


@each_venue
def test_a_second_cycle_without_drift_places_nothing(tmp_path: Path, venue: str) -> None:
    with Emulator(seed_state(), venue=venue) as emu:
        assert cycle(tmp_path, emu).ok
        orders = order_count(emu)
        emu.clear_requests()

        second = cycle(tmp_path, emu)

        assert second.ok
        assert second.plan is not None
        assert second.plan.orders == ()
        assert order_count(emu) == orders
        assert posts(emu) == 0


@each_venue
def test_after_prices_move_hedges_are_adjusted_reductions_first(tmp_path: Path, venue: str) -> None:
    # Hedged at yesterday's prices: BTC short 0.01 too small, ETH long 0.6 too big.
    positions = [
        {"symbol": "BTCUSDT", "size": "-0.01", "entry_price": "50000"},
        {"symbol": "ETHUSDT", "size": "0.6", "entry_price": "2500"},
    ]
    with Emulator(seed_state(extra={"positions": positions}), venue=venue) as emu:
        result = cycle(tmp_path, emu)

        assert result.ok, result.error
        new = emu.exchange.store.all_orders()
        assert [(o.symbol, o.reduce_only) for o in new] == [("ETHUSDT", True), ("BTCUSDT", False)]
        assert new[0].updated_ms <= new[1].created_ms  # the reduction filled before the increase
        assert abs(position(emu, "BTCUSDT") - D("-0.02")) <= STEP
        assert abs(position(emu, "ETHUSDT") - D("0.4")) <= STEP


@each_venue
def test_a_lost_response_gives_exactly_one_order(tmp_path: Path, venue: str) -> None:
    with Emulator(seed_state(), venue=venue) as emu:
        emu.inject(Fault.response_lost(path=PATHS[venue].batch))
        journal = MemoryJournal()

        result = cycle(tmp_path, emu, journal)

        assert result.ok, result.error
        assert order_count(emu) == 2
        assert posts(emu) == 1  # looked up by client id, never re-sent
        assert {o.status for o in journal.orders.values()} == {OrderStatus.FILLED}
        assert any(r.path == PATHS[venue].lookup for r in emu.requests())


@each_venue
@pytest.mark.parametrize("found", [True, False])
def test_a_lookup_that_lags_finds_the_order_within_the_allowance_or_leaves_it_unknown(
    tmp_path: Path, venue: str, found: bool
) -> None:
    # The answer is lost and lookups do not see the orders yet: for two attempts' worth of
    # queries (the legs are looked up concurrently, so one leg may meet them all; the harness
    # allows three attempts), or for longer than the allowance.
    paths = PATHS[venue]
    with Emulator(seed_state(), venue=venue) as emu:
        emu.inject(Fault.response_lost(path=paths.batch))
        hidden = 2 * paths.lookup_reads if found else 100
        emu.inject(Fault.not_yet_visible(count=hidden, path=paths.lookup))

        result = cycle(tmp_path, emu)

        assert order_count(emu) == 2
        assert posts(emu) == 1  # never re-sent, found or not
        lookups = sum(1 for r in emu.requests() if r.path == paths.lookup)
        if found:
            assert lookups > hidden  # looked again after the lag, and saw them
            assert result.ok, result.error
            assert abs(position(emu, "ETHUSDT") - D("0.4")) <= STEP
        else:
            assert lookups == 2 * 3 * paths.lookup_reads  # every attempt of both legs, no more
            assert len(result.unresolved) == 2
            assert "unknown outcome" in (result.error or "")


@each_venue
@pytest.mark.parametrize("executed", [True, False])
def test_send_status_unknown_is_resolved_by_lookup(
    tmp_path: Path, executed: bool, venue: str
) -> None:
    # Binance answers -1007, Bybit retCode 10016: "may or may not have executed".
    with Emulator(seed_state(), venue=venue) as emu:
        emu.inject(Fault.unknown_execution(executed=executed, path=PATHS[venue].batch))

        result = cycle(tmp_path, emu)

        assert order_count(emu) == (2 if executed else 0)
        assert posts(emu) == 1
        if executed:
            assert result.ok, result.error
            assert result.unresolved == ()
        else:
            assert len(result.unresolved) == 2  # never found: unknown, never re-sent
            assert result.state is RunState.FAILED
            assert "unknown outcome" in (result.error or "")


@each_venue
def test_a_429_storm_on_reads_is_retried_and_the_cycle_completes(
    tmp_path: Path, venue: str
) -> None:
    # Bybit throttles with HTTP 200 and retCode 10006, Binance with HTTP 429.
    with Emulator(seed_state(), venue=venue) as emu:
        emu.inject(Fault.http_status(429, count=3, path=PATHS[venue].read))

        result = cycle(tmp_path, emu)

        assert result.ok, result.error
        assert order_count(emu) == 2
        throttled = [r for r in emu.requests() if r.path == PATHS[venue].read]
        assert len(throttled) >= 4  # three refused, then answered


@each_venue
def test_a_429_on_orders_places_nothing_and_fails_cleanly(tmp_path: Path, venue: str) -> None:
    with Emulator(seed_state(), venue=venue) as emu:
        emu.inject(Fault.http_status(429, path=PATHS[venue].batch))

        result = cycle(tmp_path, emu)

        assert result.state is RunState.FAILED
        assert order_count(emu) == 0
        assert posts(emu) == 1


@each_venue
@pytest.mark.parametrize("body", [BodyKind.HTML, BodyKind.JSON])
def test_a_5xx_on_orders_is_looked_up_not_resent(
    tmp_path: Path, body: BodyKind, venue: str
) -> None:
    with Emulator(seed_state(), venue=venue) as emu:
        emu.inject(Fault.http_status(503, body=body, path=PATHS[venue].batch))

        result = cycle(tmp_path, emu)

        assert result.state is RunState.FAILED
        assert "unknown outcome" in (result.error or "")
        assert posts(emu) == 1
        assert order_count(emu) == 0


# Segregated by nature: a short futures wallet binds the cap; on a unified account the coins
# are collateral too (the same state is not short there).
def test_short_collateral_plans_within_the_cap_and_the_exchange_accepts_it(
    tmp_path: Path,
) -> None:
    with Emulator(seed_state(futures_wallet="1000")) as emu:
        result = cycle(tmp_path, emu)

        assert result.ok, result.error
        assert result.plan is not None
        assert result.plan.collateral_shortfall > D(800)
        assert all(r.state.value == "filled" for r in result.reports)  # no -2019
        account = emu.exchange.account
        assert account.initial_margin() <= account.margin_balance()


# Binance by nature: the bodies are Binance's shapes (Bybit's malformed answers are in
# tests/integration/test_bybit_cycle.py).
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/fapi/v1/premiumIndex", '[{"symbol": "BTCUSDT", "markPrice": "abc"}]'),
        ("/fapi/v3/account", '{"assets": [], "positions": []}'),
        ("/api/v3/account", "not json at all"),
        ("/api/v3/ticker/price", "[]"),
        ("/fapi/v1/premiumIndex", "{}"),
    ],
)
def test_a_malformed_answer_fails_the_cycle_and_places_nothing(
    tmp_path: Path, path: str, body: str
) -> None:
    with Emulator(seed_state()) as emu:
        emu.inject(malformed(body, path=path, count=10))  # more than the retries of a read

        result = cycle(tmp_path, emu)

        assert result.state is RunState.FAILED
        assert result.error
        assert posts(emu) == 0


@each_venue
def test_once_live_through_the_cli_exits_0_and_prints_the_orders(
    tmp_path: Path, venue: str
) -> None:
    exe = Path(sys.executable).with_name("rebalancer")
    with Emulator(seed_state(), venue=venue) as emu:
        config = write_config(tmp_path, emu)
        refused = subprocess.run(
            [str(exe), "once", "-c", str(config)],
            capture_output=True,
            text=True,
            env=ENV,
            timeout=60,
            check=False,
        )
        assert refused.returncode == 2
        assert "pass --yes" in refused.stderr
        assert order_count(emu) == 0

        done = subprocess.run(
            [str(exe), "once", "-c", str(config), "--mode", "live", "--yes"],
            capture_output=True,
            text=True,
            env=ENV,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "key#" in done.stdout
        assert "filled" in done.stdout
        assert "completed" in done.stdout
        assert abs(position(emu, "BTCUSDT") - D("-0.02")) <= STEP


@each_venue
def test_dry_run_places_nothing_and_touches_no_setting(tmp_path: Path, venue: str) -> None:
    exe = Path(sys.executable).with_name("rebalancer")
    with Emulator(seed_state(leverage=20), venue=venue) as emu:
        config = write_config(tmp_path, emu)
        done = subprocess.run(
            [str(exe), "once", "-c", str(config), "--mode", "dry-run"],
            capture_output=True,
            text=True,
            env=ENV,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "dry-run: nothing placed" in done.stdout
        writes = [r for r in emu.requests() if r.method in ("POST", "DELETE", "PUT")]
        assert writes == []
        assert emu.requests()  # it did read the account
        assert emu.exchange.account.leverage("BTCUSDT") == 20


@each_venue
def test_a_cycle_never_beats_its_venues_call_floor_and_binance_meets_it(
    tmp_path: Path, venue: str
) -> None:
    # The floor (Dialect.call_floor) is a lower bound: a cycle below it would mean the floor
    # is wrong, and so would docs/venues.md's table. Binance's is met but for the post-trade check.
    with Emulator(seed_state(), venue=venue) as emu:
        settings = settings_for(tmp_path, emu)
        gateway = gateway_for(settings)

        async def two_cycles() -> CycleResult:
            try:
                first = await run_cycle(
                    settings, gateway, MemoryJournal(), utcnow, gate=OPEN, mode="live"
                )
                assert first.ok, first.error
                for price in (emu.set_spot_price, emu.set_mark_price):
                    price("BTCUSDT", D(60000))
                emu.clear_requests()  # the first cycle loaded markets and set leverage
                return await run_cycle(
                    settings, gateway, MemoryJournal(), utcnow, gate=OPEN, mode="live"
                )
            finally:
                await gateway.close()

        second = asyncio.run(two_cycles())

        assert second.ok, second.error
        placed = len(second.reports)
        assert placed >= 1
        floor = dialect_for(venue).call_floor(placed)
        calls = len(emu.requests())
        assert calls >= floor
        if venue == "binance":
            assert calls <= floor + 1  # the post-trade position check
