"""Exchange market rules for one perpetual instrument, and the rounding they impose.

Amounts are in contracts (what the exchange takes); a position in base units is
contracts x contract_size. Rounding never adds exposure: see `round_position`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class MarketRules:
    """What the exchange allows on one perpetual market."""

    symbol: str
    amount_step: Decimal
    min_amount: Decimal = ZERO
    min_notional: Decimal = ZERO
    contract_size: Decimal = ONE
    taker_fee: Decimal = ZERO
    price_step: Decimal | None = None  # the price tick, for showing prices; None: unknown

    def __post_init__(self) -> None:
        if self.amount_step <= 0:
            raise ValueError(f"{self.symbol}: amount_step must be > 0")
        if self.price_step is not None and self.price_step <= 0:
            raise ValueError(f"{self.symbol}: price_step must be > 0")
        if self.contract_size <= 0:
            raise ValueError(f"{self.symbol}: contract_size must be > 0")
        for name in ("min_amount", "min_notional", "taker_fee"):
            if getattr(self, name) < 0:
                raise ValueError(f"{self.symbol}: {name} must be >= 0")

    @property
    def base_step(self) -> Decimal:
        """The smallest position change in base units."""
        return self.amount_step * self.contract_size


def round_position(current: Decimal, wanted: Decimal, step: Decimal) -> Decimal:
    """The position on `current + k*step` nearest `wanted` without being further from zero.

    Orders move a position in whole steps from where it is. Of the two reachable positions
    bracketing `wanted`, we take the one whose absolute size does not exceed |wanted|, so that
    rounding never adds leverage. If neither qualifies (only possible when the bracket
    straddles zero off the step grid), the smaller absolute size wins.
    """
    if not current % step:
        # On the grid (the normal case): the grid point towards zero from `wanted`.
        return (wanted / step).to_integral_value(ROUND_DOWN) * step
    offset = (wanted - current) / step
    low = current + offset.to_integral_value(ROUND_FLOOR) * step
    high = current + offset.to_integral_value(ROUND_CEILING) * step
    if low == high:
        return low
    candidates = [p for p in (low, high) if abs(p) <= abs(wanted)]
    if candidates:
        return min(candidates, key=lambda p: abs(wanted - p))
    return min((low, high), key=abs)


class NotWholeLotsError(ValueError):
    """An amount that is not a whole number of the market's lots."""


def to_contracts(base_quantity: Decimal, rules: MarketRules) -> Decimal:
    """`base_quantity` (base units, > 0) in contracts, exactly, on the lot grid.

    Venues that count orders in contracts (OKX: contracts x `ctVal` = base units) must be sent
    exactly what the plan means: a quantity that is not a whole number of lots is refused, never
    rounded here (the planner already rounded toward zero).
    """
    return whole_lots(base_quantity / rules.contract_size, rules)


def whole_lots(contracts: Decimal, rules: MarketRules) -> Decimal:
    """`contracts` if it is a positive whole number of lots (`amount_step`); refused otherwise."""
    if contracts <= 0 or contracts % rules.amount_step:
        raise NotWholeLotsError(
            f"{rules.symbol}: {contracts} contracts is not a positive whole number of lots of "
            f"{rules.amount_step}"
        )
    return contracts
