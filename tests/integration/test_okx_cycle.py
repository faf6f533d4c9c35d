"""The seed example live on an OKX V5 multi-currency margin account: the real ccxt client against
the emulator's OKX dialect (contracts x ctVal, per-item sCode answers, lookups by clOrdId)."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from rebalancer.domain import client_ids
from rebalancer.domain.lifecycle import RunState
from rebalancer.domain.snapshot import AccountKind
from rebalancer.emulator import Emulator, Fault
from rebalancer.emulator.faults import BodyKind, malformed
from rebalancer.exchange.port import OrderState
from tests.integration.harness import (
    cycle,
    order_count,
    position,
    posts,
    seed_state,
)

D = Decimal
STEP = D("0.001")
BATCH = "/api/v5/trade/batch-orders"
LOOKUP = "/api/v5/trade/order"


def okx(**extra: object) -> Emulator:
    """The seed example's state as a multi-currency margin account: 0.14 BTC, 1.2 ETH and
    2,000 USDT in one trading account."""
    return Emulator(seed_state(), venue="okx", **extra)  # type: ignore[arg-type]


def on_target(emu: Emulator) -> bool:
    return (
        abs(position(emu, "BTCUSDT") - D("-0.02")) <= STEP
        and abs(position(emu, "ETHUSDT") - D("0.4")) <= STEP
    )


def test_the_seed_example_reaches_the_same_exposures_as_on_binance(tmp_path: Path) -> None:
    (tmp_path / "binance").mkdir()
    with Emulator(seed_state()) as binance:
        assert cycle(tmp_path / "binance", binance).ok
        expected = (position(binance, "BTCUSDT"), position(binance, "ETHUSDT"))
    with okx() as emu:
        result = cycle(tmp_path, emu)

        assert result.ok, result.error
        got = (position(emu, "BTCUSDT"), position(emu, "ETHUSDT"))
        # Within one step of Binance's (where the 2,000 futures wallet, fees included, binds the
        # cap a step short) and exactly on the target here.
        assert all(abs(g - e) <= STEP for g, e in zip(got, expected, strict=True))
        assert got == (D("-0.02"), D("0.4"))
        # Contracts on the wire: 2 BTC contracts of 0.01, 4 ETH contracts of 0.1.
        assert sorted(r.filled for r in result.reports) == [D(2), D(4)]
        assert all(client_ids.ALPHANUMERIC.fullmatch(r.client_id) for r in result.reports)
        assert emu.exchange.account.leverage("BTCUSDT") == 1
        snapshot = result.before
        assert snapshot is not None
        assert snapshot.kind is AccountKind.UNIFIED
        assert snapshot.equity == D("12000")  # 7,000 + 3,000 + 2,000, the USDT once
        assert snapshot.collateral == D("11500")  # adjEq: 0.95 x 10,000 + 2,000
        assert posts(emu, BATCH) == 1


def test_a_second_cycle_without_drift_places_nothing(tmp_path: Path) -> None:
    with okx() as emu:
        assert cycle(tmp_path, emu).ok
        orders = order_count(emu)
        emu.clear_requests()

        second = cycle(tmp_path, emu)

        assert second.ok, second.error
        assert second.plan is not None
        assert second.plan.orders == ()
        assert order_count(emu) == orders
        assert posts(emu, BATCH) == 0


def test_a_lost_batch_answer_leaves_exactly_one_order_per_leg_found_by_cl_ord_id(
    tmp_path: Path,
) -> None:
    with okx() as emu:
        emu.inject(Fault.response_lost(path=BATCH))

        result = cycle(tmp_path, emu)

        assert result.ok, result.error
        assert order_count(emu) == 2
        assert posts(emu, BATCH) == 1
        assert on_target(emu)
        assert all(r.state is OrderState.FILLED for r in result.reports)


def test_a_50004_after_execution_with_lagging_lookups_is_resolved_not_resent(
    tmp_path: Path,
) -> None:
    with okx() as emu:
        emu.inject(Fault.unknown_execution(executed=True, path=BATCH))
        # The order book lags: the first two lookups do not know the orders yet.
        emu.inject(Fault.binance_error(51603, "Order does not exist", count=2, path=LOOKUP))

        result = cycle(tmp_path, emu)

        assert result.ok, result.error
        assert result.unresolved == ()
        assert order_count(emu) == 2
        assert posts(emu, BATCH) == 1
        assert on_target(emu)


def test_a_50004_before_execution_leaves_the_orders_unknown_never_resent(tmp_path: Path) -> None:
    with okx() as emu:
        emu.inject(Fault.unknown_execution(executed=False, path=BATCH))

        result = cycle(tmp_path, emu)

        assert len(result.unresolved) == 2  # not found by clOrdId: unknown, the circuit opens
        assert order_count(emu) == 0
        assert posts(emu, BATCH) == 1


def test_a_rate_limit_storm_on_reads_is_retried(tmp_path: Path) -> None:
    with okx() as emu:
        emu.inject(Fault.http_status(429, count=3, path="/api/v5/account/balance"))

        result = cycle(tmp_path, emu)

        assert result.ok, result.error
        assert on_target(emu)
        throttled = [r for r in emu.requests() if r.status == 429]
        assert len(throttled) == 3


@pytest.mark.parametrize("body", [BodyKind.HTML, BodyKind.JSON])
def test_a_5xx_storm_on_reads_is_retried(tmp_path: Path, body: BodyKind) -> None:
    with okx() as emu:
        emu.inject(Fault.http_status(503, count=3, body=body, path="/api/v5/account/positions"))

        result = cycle(tmp_path, emu)

        assert result.ok, result.error
        assert on_target(emu)


def test_a_rate_limit_on_the_batch_places_nothing_and_fails_cleanly(tmp_path: Path) -> None:
    with okx() as emu:
        emu.inject(Fault.http_status(429, path=BATCH, method="POST"))

        result = cycle(tmp_path, emu)

        assert result.state is RunState.FAILED
        assert order_count(emu) == 0
        assert posts(emu, BATCH) == 1
        assert all(r.error_code == 50011 for r in result.reports)


def test_a_5xx_on_the_batch_is_looked_up_not_resent(tmp_path: Path) -> None:
    with okx() as emu:
        emu.inject(Fault.http_status(503, body=BodyKind.HTML, path=BATCH, method="POST"))

        result = cycle(tmp_path, emu)

        assert result.state is RunState.FAILED
        assert "unknown outcome" in (result.error or "")
        assert posts(emu, BATCH) == 1
        assert order_count(emu) == 0


def test_dry_run_sends_no_order_and_changes_no_setting(tmp_path: Path) -> None:
    with okx() as emu:
        result = cycle(tmp_path, emu, mode="dry-run")

        assert result.state is RunState.COMPLETED, result.error
        assert result.plan is not None
        assert len(result.plan.orders) == 2
        assert order_count(emu) == 0
        assert [r for r in emu.requests() if r.method != "GET"] == []


def test_a_foreign_cl_ord_id_in_the_batch_answer_is_never_taken_as_ours(tmp_path: Path) -> None:
    foreign = {
        "code": "0",
        "msg": "",
        "data": [
            {"clOrdId": f"someoneelse{i}", "ordId": f"99{i}", "sCode": "0", "sMsg": "Order placed"}
            for i in range(2)
        ],
    }
    with okx() as emu:
        # The orders execute, but the answer names other client ids.
        emu.inject(
            replace(malformed(json.dumps(foreign), path=BATCH, method="POST"), executed=True)
        )

        result = cycle(tmp_path, emu)

        assert result.ok, result.error
        assert order_count(emu) == 2
        assert {r.exchange_id for r in result.reports}.isdisjoint({"990", "991"})
        assert all(r.state is OrderState.FILLED for r in result.reports)


def test_a_foreign_order_in_a_lookup_answer_leaves_ours_unknown(tmp_path: Path) -> None:
    other = {
        "code": "0",
        "msg": "",
        "data": [
            {
                "instType": "SWAP",
                "instId": "BTC-USDT-SWAP",
                "ordId": "42",
                "clOrdId": "notours1",
                "sz": "2",
                "accFillSz": "2",
                "avgPx": "50000",
                "state": "filled",
                "side": "sell",
                "ordType": "market",
                "fee": "-0.5",
                "feeCcy": "USDT",
                "cTime": "1700000000000",
                "uTime": "1700000000000",
            }
        ],
    }
    with okx() as emu:
        emu.inject(Fault.unknown_execution(executed=False, path=BATCH))
        emu.inject(malformed(json.dumps(other), path=LOOKUP, count=50))

        result = cycle(tmp_path, emu)

        assert order_count(emu) == 0
        assert len(result.unresolved) == 2  # the foreign fill never counts as ours
        assert all(r.state is OrderState.UNKNOWN for r in result.reports)


def test_an_all_failed_batch_journals_each_items_own_refusal(tmp_path: Path) -> None:
    # OKX's code 1 (every item failed): ccxt raises the first item's error; each order still
    # gets its own sCode.
    refused = {
        "code": "1",
        "msg": "All operations failed",
        "data": [
            {"clOrdId": "", "ordId": "", "sCode": "51008", "sMsg": "Insufficient margin"},
            {"clOrdId": "", "ordId": "", "sCode": "51121", "sMsg": "Not a whole lot"},
        ],
    }
    with okx() as emu:
        emu.inject(malformed(json.dumps(refused), path=BATCH, method="POST"))

        result = cycle(tmp_path, emu)

        assert order_count(emu) == 0
        assert [r.state for r in result.reports] == [OrderState.REJECTED] * 2
        assert [r.error_code for r in result.reports] == [51008, 51121]
        assert result.unresolved == ()


def test_account_level_2_is_refused_with_the_fix(tmp_path: Path) -> None:
    with okx() as emu:
        emu.exchange.venue_settings["acctLv"] = "2"

        result = cycle(tmp_path, emu)

        assert result.state is RunState.FAILED
        assert "single-currency margin" in (result.error or "")
        assert "account level 3" in (result.error or "")
        assert order_count(emu) == 0


def test_long_short_position_mode_is_refused_before_any_order(tmp_path: Path) -> None:
    with okx() as emu:
        emu.exchange.dual_side_position = True

        result = cycle(tmp_path, emu)

        assert result.state is RunState.FAILED
        assert "net (one-way) mode" in (result.error or "")
        assert order_count(emu) == 0
        assert posts(emu, BATCH) == 0
