"""Value types of the simulated account: sides, instrument specs, fills, positions, rejections.

Everything here is immutable and carries `Decimal` money in the quote currency. The one place
money is quantized is `quantize_money`: derived amounts (fees, realized PnL, margin, funding) are
rounded to `MONEY_QUANTUM` so that sums stay exact and conservation properties hold to the unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import Enum

MONEY_QUANTUM = Decimal("1e-12")
ZERO = Decimal(0)


def quantize_money(amount: Decimal) -> Decimal:
    """Round a derived money amount to the engine's fixed quantum (banker's rounding)."""
    return amount.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)


class Side(Enum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class Liquidity(Enum):
    TAKER = "taker"
    MAKER = "maker"


class MarginMode(Enum):
    CROSS = "cross"
    ISOLATED = "isolated"


class RejectReason(Enum):
    UNKNOWN_SYMBOL = "unknown_symbol"
    NO_PRICE = "no_price"
    INVALID_QUANTITY = "invalid_quantity"
    LOT_SIZE_STEP = "lot_size_step"
    MIN_QTY = "min_qty"
    MIN_NOTIONAL = "min_notional"
    REDUCE_ONLY = "reduce_only"
    INSUFFICIENT_MARGIN = "insufficient_margin"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    INVALID_LEVERAGE = "invalid_leverage"
    MARGIN_MODE_UNCHANGED = "margin_mode_unchanged"
    INVALID_AMOUNT = "invalid_amount"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why the account refused an operation; the state is unchanged when one is returned."""

    reason: RejectReason
    detail: str


@dataclass(frozen=True, slots=True)
class PerpSpec:
    """A linear perpetual: quantity in base units, margin and PnL in `quote`."""

    symbol: str
    base: str
    quote: str
    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal
    tick_size: Decimal = Decimal("0.01")
    maintenance_margin_rate: Decimal = Decimal("0.004")
    max_leverage: int = 125
    funding_interval_hours: int = 8  # 1, 2, 4 or 8: the venue's interval for this instrument


@dataclass(frozen=True, slots=True)
class SpotSpec:
    symbol: str
    base: str
    quote: str
    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal
    tick_size: Decimal = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Balance:
    asset: str
    free: Decimal
    locked: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


@dataclass(frozen=True, slots=True)
class Position:
    """A one-way perp position kept as signed size and signed cost basis (size x entry).

    Keeping the cost rather than the entry price makes unrealized PnL an exact product
    (`size * mark - cost`) instead of one rounded by a weighted-average division.
    """

    symbol: str
    size: Decimal
    cost: Decimal
    updated_at: datetime | None = None

    @property
    def entry_price(self) -> Decimal:
        return self.cost / self.size if self.size else ZERO

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        return self.size * mark - self.cost

    def notional(self, mark: Decimal) -> Decimal:
        return self.size * mark


@dataclass(frozen=True, slots=True)
class Fill:
    """One perp execution. `fee` is positive and was debited from the futures wallet."""

    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    realized_pnl: Decimal
    liquidity: Liquidity
    at: datetime
    position_after: Decimal

    @property
    def notional(self) -> Decimal:
        return self.qty * self.price


@dataclass(frozen=True, slots=True)
class SpotFill:
    """One spot execution; the fee is charged in the quote asset of the market."""

    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    at: datetime

    @property
    def notional(self) -> Decimal:
        return self.qty * self.price


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """`amount` is the signed change of the futures wallet (negative: the account paid)."""

    symbol: str
    rate: Decimal
    mark: Decimal
    position_size: Decimal
    amount: Decimal
    at: datetime


@dataclass(frozen=True, slots=True)
class InterestCharge:
    """Interest on borrowed quote over (`start`, `end`]: `amount` > 0 was debited.

    `amount = borrowed x annual_rate x seconds / YEAR_SECONDS`, rounded by `quantize_money`."""

    asset: str
    borrowed: Decimal
    annual_rate: Decimal
    start: datetime
    end: datetime
    amount: Decimal


@dataclass(frozen=True, slots=True)
class LiquidationReport:
    fills: tuple[Fill, ...]
    insurance_fund_loss: Decimal
    at: datetime
