"""Builders shared by the sim tests: a BTC/ETH account at known marks."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from rebalancer.sim import (
    ZERO_FEES,
    Account,
    FeeSchedule,
    PerpSpec,
    SlippageModel,
    SpotSpec,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
BTC = "BTCUSDT"
ETH = "ETHUSDT"


def make_account(
    *,
    wallet: Decimal = Decimal(10_000),
    fees: FeeSchedule = ZERO_FEES,
    slippage_bps: Decimal = Decimal(0),
    leverage: int = 1,
    btc_mark: Decimal = Decimal(50_000),
    eth_mark: Decimal = Decimal(3_000),
) -> Account:
    account = Account(fees=fees, slippage=SlippageModel(slippage_bps), default_leverage=leverage)
    account.add_perp(PerpSpec(BTC, "BTC", "USDT", Decimal("0.001"), Decimal("0.001"), Decimal(5)))
    account.add_perp(PerpSpec(ETH, "ETH", "USDT", Decimal("0.01"), Decimal("0.01"), Decimal(5)))
    account.add_spot(
        SpotSpec(BTC, "BTC", "USDT", Decimal("0.00001"), Decimal("0.00001"), Decimal(5))
    )
    account.set_mark(BTC, btc_mark)
    account.set_mark(ETH, eth_mark)
    account.spot.set_price(BTC, btc_mark)
    account.credit_futures(wallet)
    return account
