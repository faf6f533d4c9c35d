"""The gateway's real-money guarantees, through the real ccxt client against the emulator.

Every order that left ends as filled, open, rejected or unknown (no exception escapes
`place()`); an answer about another client id is never taken as ours; a hedge-mode account is
refused when it is read; fees are the account's own tier, not ccxt's default table.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import pytest

from rebalancer.domain.lifecycle import RunState
from rebalancer.domain.plan import Side
from rebalancer.domain.snapshot import Snapshot
from rebalancer.emulator import Emulator, Fault
from rebalancer.emulator.account_views import futures_account
from rebalancer.emulator.faults import FaultKind, malformed
from rebalancer.exchange.ccxt_gateway import CcxtGateway
from rebalancer.exchange.errors import AmbiguousOutcome, MalformedResponse, PermanentError
from rebalancer.exchange.port import OrderReport, OrderRequest, OrderState
from rebalancer.service.cycle import CycleResult, run_cycle
from rebalancer.service.memory_journal import MemoryJournal
from rebalancer.sim import FeeSchedule
from tests.integration.harness import (
    NO_WAIT,
    OPEN,
    gateway_for,
    order_count,
    seed_state,
    settings_for,
    utcnow,
)

D = Decimal
T = TypeVar("T")
BATCH = "/fapi/v1/batchOrders"
ORDER = "/fapi/v1/order"
BTC = "BTC/USDT:USDT"
OURS = "rb-test-0001"


def with_gateway(tmp: Path, emu: Emulator, use: Callable[[CcxtGateway], Awaitable[T]]) -> T:
    gateway = gateway_for(settings_for(tmp, emu))

    async def go() -> T:
        try:
            return await use(gateway)
        finally:
            await gateway.close()

    return asyncio.run(go())


def replace_clock(gateway: CcxtGateway, clock: Callable[[], datetime]) -> CcxtGateway:
    return CcxtGateway(
        gateway.client,
        quote=gateway.quote,
        policy=NO_WAIT,
        clock=clock,
        lookup_delays=(0, 0, 0),
    )


def place_one(tmp: Path, emu: Emulator, client_id: str = OURS) -> OrderReport:
    request = OrderRequest(client_id, BTC, Side.SELL, D("0.01"), reduce_only=False)

    async def use(gateway: CcxtGateway) -> OrderReport:
        (report,) = await gateway.place([request])
        return report

    return with_gateway(tmp, emu, use)


def answered_after_execution(body: object, *, path: str = BATCH, method: str = "POST") -> Fault:
    """The request executes for real; the answer that comes back is `body`."""
    return Fault(
        FaultKind.MALFORMED, path=path, method=method, executed=True, raw_body=json.dumps(body)
    )


def order_body(client_id: str, *, status: str = "FILLED", avg: str = "50000") -> dict[str, object]:
    filled = status == "FILLED"
    return {
        "orderId": 987654,
        "symbol": "BTCUSDT",
        "status": status,
        "clientOrderId": client_id,
        "price": "0",
        "avgPrice": avg,
        "origQty": "0.01",
        "executedQty": "0.01" if filled else "0",
        "cumQuote": str(D(avg) * D("0.01")) if filled else "0",
        "timeInForce": "GTC",
        "type": "MARKET",
        "reduceOnly": False,
        "side": "SELL",
        "positionSide": "BOTH",
        "updateTime": 1,
    }


# -- nothing escapes place() -----------------------------------------------------------------


def test_an_accepted_order_whose_lookups_all_fail_is_reported_open_not_raised(
    tmp_path: Path,
) -> None:
    with Emulator(seed_state()) as emu:
        emu.inject(answered_after_execution([order_body(OURS, status="NEW", avg="0")]))
        emu.inject(Fault.http_status(503, count=50, path=ORDER, method="GET"))

        report = place_one(tmp_path, emu)

        assert report.client_id == OURS
        assert report.state in (OrderState.OPEN, OrderState.UNKNOWN)
        assert order_count(emu) == 1


def test_an_unparsable_answer_to_a_sent_order_is_resolved_by_lookup(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        # Filled, yet no usable average price: not a report anyone can journal.
        emu.inject(answered_after_execution([order_body(OURS, avg="0")]))

        report = place_one(tmp_path, emu)

        assert report.state is OrderState.FILLED
        assert report.client_id == OURS
        assert report.filled == D("0.01")
        assert report.average_price is not None
        assert report.average_price > 0
        assert order_count(emu) == 1


def test_a_garbled_answer_whose_lookups_fail_ends_unknown(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        emu.inject(answered_after_execution([{"orderId": "x", "status": {"oops": 1}}]))
        emu.inject(Fault.http_status(503, count=50, path=ORDER, method="GET"))

        report = place_one(tmp_path, emu)

        assert report.client_id == OURS
        assert report.state is OrderState.UNKNOWN


# -- another client id is never ours ---------------------------------------------------------


def test_a_placement_answer_for_another_client_id_is_not_taken_as_ours(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        emu.inject(malformed(json.dumps([order_body("someone-else")]), path=BATCH, method="POST"))

        report = place_one(tmp_path, emu)

        # Our order never reached the book; the foreign fill is not ours: unknown, looked up.
        assert report.client_id == OURS
        assert report.state is OrderState.UNKNOWN
        assert report.filled == 0
        assert order_count(emu) == 0


def test_a_placement_answer_for_another_id_is_replaced_by_our_own_order(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        emu.inject(answered_after_execution([order_body("someone-else")]))

        report = place_one(tmp_path, emu)

        assert report.client_id == OURS
        assert report.state is OrderState.FILLED
        assert report.exchange_id != "987654"  # the real order, found by our id


def test_a_lookup_answer_for_another_client_id_is_not_found_as_ours(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        foreign = json.dumps(order_body("someone-else"))
        emu.inject(malformed(foreign, path=ORDER, method="GET", count=10))

        async def use(gateway: CcxtGateway) -> OrderReport | None:
            return await gateway.lookup_patiently(BTC, OURS)

        with pytest.raises(AmbiguousOutcome):
            with_gateway(tmp_path, emu, use)


def test_an_unknown_send_answered_by_a_foreign_lookup_stays_unknown(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        emu.inject(Fault.unknown_execution(executed=False, path=BATCH))
        emu.inject(malformed(json.dumps(order_body("someone-else")), path=ORDER, count=10))

        report = place_one(tmp_path, emu)

        assert report.client_id == OURS
        assert report.state is OrderState.UNKNOWN


# -- hedge mode is refused at snapshot time --------------------------------------------------


def _hedge_mode_account(emu: Emulator) -> str:
    body = futures_account(emu.exchange, v3=True)
    row = {
        "symbol": "BTCUSDT",
        "positionSide": "LONG",
        "positionAmt": "0.010",
        "unrealizedProfit": "0",
        "isolatedMargin": "0",
        "notional": "500",
        "isolatedWallet": "0",
        "initialMargin": "500",
        "maintMargin": "2",
        "updateTime": 1,
    }
    body["positions"] = [row, {**row, "positionSide": "SHORT", "positionAmt": "-0.030"}]
    return json.dumps(body)


def test_long_and_short_rows_of_one_symbol_are_refused_not_overwritten(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        emu.inject(malformed(_hedge_mode_account(emu), path="/fapi/v3/account"))

        async def use(gateway: CcxtGateway) -> object:
            return await gateway.snapshot(["BTC", "ETH"], [BTC, "ETH/USDT:USDT"], {})

        with pytest.raises(PermanentError, match="hedge"):
            with_gateway(tmp_path, emu, use)


def test_a_dry_run_on_a_hedge_mode_account_fails_and_sends_nothing(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        emu.inject(malformed(_hedge_mode_account(emu), path="/fapi/v3/account"))
        settings = settings_for(tmp_path, emu)
        gateway = gateway_for(settings)

        async def go() -> CycleResult:
            try:
                return await run_cycle(
                    settings, gateway, MemoryJournal(), utcnow, gate=OPEN, mode="dry-run"
                )
            finally:
                await gateway.close()

        result = asyncio.run(go())

        assert result.state is RunState.FAILED
        assert "hedge" in (result.error or "")
        assert [r for r in emu.requests() if r.method != "GET"] == []


# -- fees at the account's tier --------------------------------------------------------------


def test_fees_are_the_accounts_tier_not_ccxts_default(tmp_path: Path) -> None:
    with Emulator(seed_state(extra={"taker_fee": "0.0012"})) as emu:

        async def use(gateway: CcxtGateway) -> tuple[Decimal, OrderReport]:
            snap = await gateway.snapshot(["BTC"], [BTC], {})
            (report,) = await gateway.place(
                [OrderRequest(OURS, BTC, Side.SELL, D("0.01"), reduce_only=False)]
            )
            return snap.perps[BTC].rules.taker_fee, report

        taker, report = with_gateway(tmp_path, emu, use)

        assert taker == D("0.0012")
        assert report.state is OrderState.FILLED
        assert report.average_price is not None
        assert report.fee is not None
        assert report.fee == report.filled * report.average_price * D("0.0012")


# -- every position counts, whatever its settle currency --------------------------------------


def test_a_position_on_a_perp_outside_the_quote_is_read_and_counted(tmp_path: Path) -> None:
    usdc_perp = {
        "symbol": "BTCUSDC",
        "base": "BTC",
        "quote": "USDC",
        "step_size": "0.001",
        "min_notional": "5",
    }
    state = seed_state(
        extra={
            "perp_markets": [
                {"symbol": "BTCUSDT", "base": "BTC", "step_size": "0.001", "min_notional": "100"},
                {"symbol": "ETHUSDT", "base": "ETH", "step_size": "0.001", "min_notional": "20"},
                usdc_perp,
            ],
            "mark_prices": {"BTCUSDT": "50000", "ETHUSDT": "2500", "BTCUSDC": "50000"},
            "positions": [{"symbol": "BTCUSDC", "size": "-0.02", "entry_price": "50000"}],
        }
    )
    with Emulator(state) as emu:

        async def use(gateway: CcxtGateway) -> Snapshot:
            return await gateway.snapshot(["BTC", "ETH"], [BTC, "ETH/USDT:USDT"], {})

        snap = with_gateway(tmp_path, emu, use)

        assert snap.perps["BTC/USDC:USDC"].position == D("-0.02")
        assert snap.gross_notional == D(1000)  # against the cap, never silently left out


def test_a_position_on_a_market_ccxt_does_not_list_fails_the_snapshot(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        body = json.loads(_hedge_mode_account(emu))
        body["positions"] = [{**body["positions"][0], "symbol": "GONEUSDT", "positionSide": "BOTH"}]
        emu.inject(malformed(json.dumps(body), path="/fapi/v3/account"))

        async def use(gateway: CcxtGateway) -> Snapshot:
            return await gateway.snapshot(["BTC"], [BTC], {})

        with pytest.raises(MalformedResponse, match="GONEUSDT"):
            with_gateway(tmp_path, emu, use)


def test_the_fee_tier_is_read_again_once_a_day_not_every_cycle(tmp_path: Path) -> None:
    with Emulator(seed_state(extra={"taker_fee": "0.0012"})) as emu:
        now = [datetime(2026, 1, 5, tzinfo=UTC)]
        gateway = replace_clock(gateway_for(settings_for(tmp_path, emu)), lambda: now[0])

        async def go() -> list[Decimal]:
            seen = []
            try:
                for hours in (0, 1, 25):
                    now[0] = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(hours=hours)
                    snap = await gateway.snapshot(["BTC"], [BTC], {})
                    seen.append(snap.perps[BTC].rules.taker_fee)
                    emu.exchange.account.fees = FeeSchedule(taker_rate=D("0.0004"))
            finally:
                await gateway.close()
            return seen

        assert asyncio.run(go()) == [D("0.0012"), D("0.0012"), D("0.0004")]
        reads = [r for r in emu.requests() if r.path == "/fapi/v1/commissionRate"]
        assert len(reads) == 2


# -- Binance multi-assets mode is refused ----------------------------------------------------


def test_a_multi_assets_futures_account_is_refused_at_snapshot_time(tmp_path: Path) -> None:
    # Coins in the futures wallet would be collateral (in F) yet exposure nobody counts.
    with Emulator(seed_state()) as emu:
        emu.exchange.multi_assets_margin = True

        async def use(gateway: CcxtGateway) -> Snapshot:
            return await gateway.snapshot(["BTC"], [BTC], {})

        with pytest.raises(PermanentError, match="multi-assets"):
            with_gateway(tmp_path, emu, use)
