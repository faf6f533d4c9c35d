"""Spot market orders on the unified venues (Bybit, OKX) through the gateway, the real ccxt
client and the emulator: exactly once. An ack is looked up for its fill; an answer about another
client id is never ours; a lost or failed answer is looked up by client id and never sent again;
a refusal is a rejection with the venue's code; the spot rules refuse before anything leaves."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest

from rebalancer.domain.plan import Side
from rebalancer.emulator import Emulator, Fault
from rebalancer.emulator.faults import FaultKind
from rebalancer.emulator.orders import Segment
from rebalancer.exchange.port import OrderReport, OrderRequest, OrderState
from tests.integration.harness import gateway_for, seed_state, settings_for
from tests.integration.venues import UNIFIED

D = Decimal
CREATE = {"bybit": "/v5/order/create", "okx": "/api/v5/trade/order"}
IDS = {"bybit": "rb-20261130T000000-abcdef-7", "okx": "rb20261130T000000abcdefL7"}
FEE = D("0.0005")  # the seed state's taker fee


def _foreign_ack(venue: str) -> str:
    if venue == "bybit":
        ack = {"orderId": "999", "orderLinkId": "someone-else"}
        return json.dumps({"retCode": 0, "retMsg": "OK", "result": ack, "retExtInfo": {}})
    item = {"clOrdId": "someoneelse", "ordId": "999", "tag": "", "ts": "1", "sCode": "0"}
    return json.dumps({"code": "0", "msg": "", "data": [{**item, "sMsg": "Order placed"}]})


def _place(tmp: Path, emu: Emulator, order: OrderRequest) -> OrderReport:
    gateway = gateway_for(settings_for(tmp, emu))

    async def go() -> OrderReport:
        try:
            return await gateway.place_spot(order)
        finally:
            await gateway.close()

    return asyncio.run(go())


def _sale(venue: str, amount: str = "0.02", side: Side = Side.SELL) -> OrderRequest:
    return OrderRequest(IDS[venue], "BTC/USDT", side, D(amount), reduce_only=False)


def _spot_orders(emu: Emulator) -> list[str]:
    return [o.client_order_id for o in emu.exchange.store.all_orders() if o.segment is Segment.SPOT]


def _posts(emu: Emulator, venue: str) -> int:
    return sum(1 for r in emu.requests() if r.method == "POST" and r.path == CREATE[venue])


@pytest.fixture(params=UNIFIED)
def venue(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_spot_sale_fills_in_base_units_with_its_fee_in_the_quote(
    tmp_path: Path, venue: str
) -> None:
    with Emulator(seed_state(), venue=venue) as emu:
        price = emu.exchange.account.spot.price("BTCUSDT")
        report = _place(tmp_path, emu, _sale(venue))
        posts = _posts(emu, venue)

    assert price is not None
    assert (report.client_id, report.state, report.filled) == (
        IDS[venue],
        OrderState.FILLED,
        D("0.02"),
    )
    assert report.average_price == price
    assert (report.fee, report.fee_currency) == (D("0.02") * price * FEE, "USDT")
    assert not report.fee_estimated  # the venue's own fee, not an estimate
    assert posts == 1


def test_a_spot_buy_pays_its_fee_in_the_base_coin(tmp_path: Path, venue: str) -> None:
    with Emulator(seed_state(), venue=venue) as emu:
        report = _place(tmp_path, emu, _sale(venue, "0.01", Side.BUY))

    assert (report.state, report.filled) == (OrderState.FILLED, D("0.01"))
    assert (report.fee, report.fee_currency) == (D("0.01") * FEE, "BTC")


def test_an_ack_about_another_client_id_is_not_ours_and_ours_is_found(
    tmp_path: Path, venue: str
) -> None:
    with Emulator(seed_state(), venue=venue) as emu:
        emu.inject(
            Fault(
                FaultKind.MALFORMED,
                path=CREATE[venue],
                method="POST",
                executed=True,
                raw_body=_foreign_ack(venue),
            )
        )
        report = _place(tmp_path, emu, _sale(venue))
        spot = _spot_orders(emu)

    assert report.client_id == IDS[venue]
    assert report.state is OrderState.FILLED
    assert report.exchange_id != "999"  # the real order, found by our id
    assert spot == [IDS[venue]]


@pytest.mark.parametrize(
    "fault",
    [
        Fault.response_lost(method="POST"),
        Fault.http_status(503, method="POST"),
        Fault.unknown_execution(executed=False, method="POST"),
    ],
    ids=["lost", "5xx", "timeout"],
)
def test_a_spot_order_whose_answer_fails_is_looked_up_never_sent_again(
    tmp_path: Path, venue: str, fault: Fault
) -> None:
    with Emulator(seed_state(), venue=venue) as emu:
        emu.inject(
            Fault(
                fault.kind,
                path=CREATE[venue],
                method="POST",
                status=fault.status,
                executed=fault.executed,
            )
        )
        report = _place(tmp_path, emu, _sale(venue))
        posts = _posts(emu, venue)
        spot = _spot_orders(emu)

    assert posts == 1
    if fault.executed:  # it executed and the answer was lost: found by client id
        assert report.state is OrderState.FILLED
        assert spot == [IDS[venue]]
    else:  # it never executed: not found, so unknown (never "rejected", never re-sent)
        assert report.state is OrderState.UNKNOWN
        assert spot == []


def test_a_client_id_sent_again_is_the_first_order_not_a_second(tmp_path: Path, venue: str) -> None:
    with Emulator(seed_state(), venue=venue) as emu:
        first = _place(tmp_path, emu, _sale(venue))
        again = _place(tmp_path, emu, _sale(venue))  # a duplicate id: looked up, not placed
        spot = _spot_orders(emu)

    assert first.state is again.state is OrderState.FILLED
    assert again.exchange_id == first.exchange_id
    assert spot == [IDS[venue]]


def test_a_refused_spot_order_is_rejected_with_the_venues_code(tmp_path: Path, venue: str) -> None:
    with Emulator(seed_state(), venue=venue) as emu:
        report = _place(tmp_path, emu, _sale(venue, "5"))  # 0.14 BTC held
        spot = _spot_orders(emu)

    assert report.state is OrderState.REJECTED
    assert report.error_code == {"bybit": 170131, "okx": 51008}[venue]
    assert spot == []


def test_an_amount_off_the_spot_step_is_refused_before_sending(tmp_path: Path, venue: str) -> None:
    with Emulator(seed_state(), venue=venue) as emu:
        report = _place(tmp_path, emu, _sale(venue, "0.0200001"))
        posts = _posts(emu, venue)

    assert report.state is OrderState.REJECTED
    assert report.error is not None
    assert "spot step" in report.error
    assert posts == 0
