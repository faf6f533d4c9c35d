"""Fill pricing and position arithmetic: where a market order executes and what it does to a
position (weighted-average entry on increase, realized PnL on reduction or flip).

Pure functions; the account applies their results.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rebalancer.sim.values import ZERO, Side, quantize_money

_BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class SlippageModel:
    """A fixed adverse move from the mark, in basis points: takers buy higher and sell lower."""

    bps: Decimal = Decimal(0)

    def fill_price(self, mark: Decimal, side: Side) -> Decimal:
        return mark * (1 + side.sign * self.bps / _BPS)


NO_SLIPPAGE = SlippageModel()


@dataclass(frozen=True, slots=True)
class TradeEffect:
    size: Decimal
    cost: Decimal
    realized_pnl: Decimal


def apply_trade(size: Decimal, cost: Decimal, signed_qty: Decimal, price: Decimal) -> TradeEffect:
    """New (size, cost) and realized PnL after trading `signed_qty` at `price`.

    The closed part releases its proportional share of the cost basis; the same quantized share
    goes into realized PnL and out of the cost, so wallet + unrealized PnL is conserved exactly
    when the trade happens at the mark.
    """
    if size == 0 or (size > 0) == (signed_qty > 0):
        return TradeEffect(size + signed_qty, cost + signed_qty * price, ZERO)
    closed = min(abs(signed_qty), abs(size))
    # A full close releases the exact cost; only a partial share needs the division rounded.
    released = cost if closed == abs(size) else quantize_money(cost * closed / abs(size))
    direction = 1 if size > 0 else -1
    realized = direction * closed * price - released
    new_size = size + signed_qty
    if abs(signed_qty) > abs(size):
        # Flip: the old position closed entirely and the remainder opens at this price.
        return TradeEffect(new_size, new_size * price, realized)
    return TradeEffect(new_size, cost - released, realized)
