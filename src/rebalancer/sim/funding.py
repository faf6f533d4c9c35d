"""Funding payments of perpetual positions.

Binance's convention: payment = position size x mark price x funding rate. With a positive rate
longs pay and shorts receive; the result here is the signed change of the account's wallet.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from rebalancer.sim.values import FundingPayment, quantize_money


def funding_payment(
    symbol: str, size: Decimal, mark: Decimal, rate: Decimal, at: datetime
) -> FundingPayment:
    amount = quantize_money(-size * mark * rate)
    return FundingPayment(
        symbol=symbol, rate=rate, mark=mark, position_size=size, amount=amount, at=at
    )
