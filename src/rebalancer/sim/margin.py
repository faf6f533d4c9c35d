"""Cross-margin arithmetic over a set of positions at given marks: unrealized PnL, initial and
maintenance margin, margin balance, liquidation test and per-position liquidation price.

Pure functions over `MarginLine`s so the account, a reporter or a backtester can ask "what if"
questions without mutating anything. One-way mode, a flat maintenance rate per symbol and no
maintenance-amount offset (Binance's `cum`) - an approximation good for the first bracket.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from rebalancer.sim.values import ZERO, quantize_money

_PRICE_QUANTUM = Decimal("1e-8")


@dataclass(frozen=True, slots=True)
class MarginLine:
    """One position as margin sees it."""

    symbol: str
    size: Decimal
    cost: Decimal
    mark: Decimal
    leverage: int
    maintenance_margin_rate: Decimal

    @property
    def unrealized_pnl(self) -> Decimal:
        return self.size * self.mark - self.cost

    @property
    def initial_margin(self) -> Decimal:
        return quantize_money(abs(self.size) * self.mark / self.leverage)

    @property
    def maintenance_margin(self) -> Decimal:
        return quantize_money(abs(self.size) * self.mark * self.maintenance_margin_rate)


def unrealized_pnl(lines: Iterable[MarginLine]) -> Decimal:
    return sum((line.unrealized_pnl for line in lines), ZERO)


def initial_margin(lines: Iterable[MarginLine]) -> Decimal:
    return sum((line.initial_margin for line in lines), ZERO)


def maintenance_margin(lines: Iterable[MarginLine]) -> Decimal:
    return sum((line.maintenance_margin for line in lines), ZERO)


def margin_balance(wallet: Decimal, lines: Iterable[MarginLine]) -> Decimal:
    return wallet + unrealized_pnl(lines)


def is_liquidatable(wallet: Decimal, lines: Iterable[MarginLine]) -> bool:
    """Binance liquidates a cross account when its margin ratio (maintenance / margin balance)
    reaches 100 %, i.e. when the margin balance falls to the maintenance margin."""
    open_lines = [line for line in lines if line.size]
    if not open_lines:
        return False
    return margin_balance(wallet, open_lines) <= maintenance_margin(open_lines)


def liquidation_price(wallet: Decimal, lines: Iterable[MarginLine], symbol: str) -> Decimal | None:
    """Mark of `symbol` at which margin balance meets maintenance, all other marks held fixed.

    Solves wallet + uPnL_others + size*p - cost = MM_others + |size|*p*mmr for p. None when
    there is no position or no positive price liquidates it (e.g. a fully collateralized long).
    """
    all_lines = list(lines)
    target = next((line for line in all_lines if line.symbol == symbol and line.size), None)
    if target is None:
        return None
    others = [line for line in all_lines if line is not target]
    fixed = wallet + unrealized_pnl(others) - maintenance_margin(others)
    slope = target.size - abs(target.size) * target.maintenance_margin_rate
    if slope == 0:
        return None
    price = (target.cost - fixed) / slope
    # Round towards the liquidated side so the account is liquidatable at the returned mark.
    rounding = ROUND_FLOOR if target.size > 0 else ROUND_CEILING
    price = price.quantize(_PRICE_QUANTUM, rounding=rounding)
    return price if price > 0 else None
