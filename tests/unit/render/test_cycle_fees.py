"""The orders table names a fee charged in a coin instead of rounding it into the quote's cents."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console

from rebalancer.domain.lifecycle import RunState
from rebalancer.exchange.port import OrderReport, OrderState
from rebalancer.render.cycle_table import render_cycle
from rebalancer.service.cycle import CycleResult


def _printed(*reports: OrderReport) -> str:
    console = Console(width=200, record=True)
    console.print(render_cycle(CycleResult("r", RunState.COMPLETED, reports=reports)))
    return console.export_text()


def _report(
    instrument: str, fee: str, currency: str | None, estimated: bool = False
) -> OrderReport:
    return OrderReport(
        client_id="rb-1",
        instrument=instrument,
        state=OrderState.FILLED,
        filled=Decimal("0.3887"),
        average_price=Decimal(3000),
        fee=Decimal(fee),
        fee_currency=currency,
        fee_estimated=estimated,
    )


def test_a_spot_buys_fee_in_the_coin_bought_is_shown_as_that_coins_amount() -> None:
    text = _printed(_report("ETH/USDT", "0.0003887", "ETH"))
    assert "0.0003887 ETH" in text
    assert "0.00 " not in text.replace("3,000.00", "")


def test_a_fee_in_the_quote_stays_money_and_an_estimate_says_so() -> None:
    assert "0.58" in _printed(_report("ETH/USDT:USDT", "0.5821", "USDT"))
    assert "0.35 est." in _printed(_report("BTC/USDT:USDT", "0.35", None, estimated=True))
