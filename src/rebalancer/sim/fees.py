"""Trading-fee schedule: taker and maker rates applied to a fill's notional.

Fees are always positive amounts of the quote currency, quantized once here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rebalancer.sim.values import Liquidity, quantize_money


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    # Binance USDⓈ-M regular tier: 0.05 % taker, 0.02 % maker.
    taker_rate: Decimal = Decimal("0.0005")
    maker_rate: Decimal = Decimal("0.0002")

    def rate(self, liquidity: Liquidity) -> Decimal:
        return self.taker_rate if liquidity is Liquidity.TAKER else self.maker_rate

    def fee(self, notional: Decimal, liquidity: Liquidity) -> Decimal:
        return quantize_money(abs(notional) * self.rate(liquidity))


ZERO_FEES = FeeSchedule(taker_rate=Decimal(0), maker_rate=Decimal(0))
