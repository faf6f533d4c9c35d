"""The planner's output: what to trade and why, line by line, in execution order.

A plan explains itself: for every hedge line the spot value, exposure and drift before, the
target hedge, what the leverage cap allowed, the orders, and the expected drift after; every
skipped or reduced leg carries its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum


class Side(Enum):
    BUY = "buy"
    SELL = "sell"


class LineStatus(Enum):
    REBALANCED = "rebalanced"
    ON_TARGET = "on_target"
    IN_BAND = "in_band"
    CAPPED = "capped"
    SKIPPED = "skipped"
    UNHEDGEABLE = "unhedgeable"
    ROLLED = "rolled"  # the roll policy closed its hedge; spot trades to target replace it


class CapState(Enum):
    WITHIN = "within"  # a full rebalance fits under the cap
    BINDING = "binding"  # collateral is short: hedges were allocated to minimise the largest drift
    OVER = "over"  # the account was over the cap before the plan: it de-levers first


class SkipReason(Enum):
    BELOW_MIN_AMOUNT = "below the exchange's minimum amount"
    BELOW_MIN_NOTIONAL = "below the exchange's minimum notional"
    BELOW_MIN_TRADE = "below the configured minimum trade"
    OVER_CAP = "would exceed the leverage cap because a reduction could not be placed"
    NOT_CLOSER = "rounded to the exchange's step it would end farther from target than no trade"
    NO_IMPROVEMENT = "no allocation within the cap improves the largest drift"


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """One market order on a perp, in the order it must be sent (reductions first)."""

    leg: int
    line: str
    instrument: str
    side: Side
    amount: Decimal  # contracts, as the exchange takes them
    base_quantity: Decimal
    reduce_only: bool
    mark: Decimal
    position_before: Decimal  # base units
    position_after: Decimal

    @property
    def notional(self) -> Decimal:
        return self.base_quantity * self.mark

    @property
    def signed_quantity(self) -> Decimal:
        return self.base_quantity if self.side is Side.BUY else -self.base_quantity


@dataclass(frozen=True, slots=True)
class SkippedLeg:
    """A wanted position change that the plan does not place, and why."""

    line: str
    instrument: str
    base_quantity: Decimal  # signed change that was wanted
    notional: Decimal
    reason: SkipReason


@dataclass(frozen=True, slots=True)
class PlanLine:
    """One hedge line before and after the plan. Money in the quote, drift in weight points."""

    name: str
    assets: tuple[str, ...]
    instruments: tuple[str, ...]
    target_weight: Decimal
    spot_value: Decimal
    hedge_before: Decimal
    drift_before: Decimal
    target_hedge: Decimal  # full rebalance: w V - s p (beta-weighted for proxies)
    desired_hedge: Decimal  # after the band rule (equal to target_hedge when rebalancing to target)
    allowed_hedge: Decimal  # after the leverage cap, before exchange rounding
    hedge_after: Decimal  # after rounding and skips: what the orders lead to
    drift_after: Decimal
    status: LineStatus
    reasons: tuple[str, ...] = ()

    @property
    def exposure_before(self) -> Decimal:
        return self.spot_value + self.hedge_before

    @property
    def exposure_after(self) -> Decimal:
        """Spot and hedge after the plan; a rolled line's spot trades add what its target hedge
        would have carried (roll.py, `spot_to_target`), as wanted, before their rounding."""
        if self.status is LineStatus.ROLLED:
            return self.spot_value + self.target_hedge + self.hedge_after
        return self.spot_value + self.hedge_after

    @property
    def relative_drift_before(self) -> Decimal | None:
        return self.drift_before / self.target_weight if self.target_weight else None

    @property
    def hedge_change(self) -> Decimal:
        return self.hedge_after - self.hedge_before


@dataclass(frozen=True, slots=True)
class CashLine:
    """Stablecoins plus futures equity, net of the hedges' notional: what is left as cash."""

    target_weight: Decimal
    exposure_before: Decimal
    exposure_after: Decimal
    drift_before: Decimal
    drift_after: Decimal


@dataclass(frozen=True, slots=True)
class HedgeOrSell:
    """One line's hedge after the plan, its projected carry, and the spot trade it replaces."""

    line: str
    hedge: Decimal  # signed notional the line holds after the plan
    added: Decimal  # the plan's change to it
    funding: Decimal  # paid over the horizon (< 0: received)
    interest: Decimal  # the line's share of the borrow interest over the horizon
    spot_trade: Decimal  # spot value that replaces the hedge: < 0 sell, > 0 buy
    fees: Decimal
    slippage: Decimal
    realised_gain: Decimal | None  # of a sale, against the average cost; None: not known
    # The roll policy closed this hedge and traded spot instead: the figures are the projection
    # that was weighed (the hedge the plan would have held), not a hedge still held.
    rolled: bool = False

    @property
    def carry(self) -> Decimal:
        return self.funding + self.interest

    @property
    def spot_cost(self) -> Decimal:
        """What the spot trade costs to do: fees and slippage (a gain is a figure, not a cost)."""
        return self.fees + self.slippage

    @property
    def carry_exceeds_sale(self) -> bool:
        return self.hedge != 0 and self.carry > self.spot_cost


@dataclass(frozen=True, slots=True)
class CarryFigures:
    """Hedge or sell, per hedged line, over a horizon (carry.py). Figures only: no tax advice."""

    horizon_hours: Decimal
    lines: tuple[HedgeOrSell, ...]


@dataclass(frozen=True, slots=True)
class Borrowing:
    """A unified account's borrowed quote, now and under the plan's stress move (DESIGN §2).

    `stressed_*` is what the account would borrow if every hedge moved against it by `stress`
    (a fraction of price) and the plan's fees were paid: max(0, stress x gross + fees - quote).
    """

    borrowed: Decimal  # quote borrowed now (the negative quote balance)
    stress: Decimal
    stressed_before: Decimal  # without the plan
    stressed_after: Decimal  # after the plan's orders and fees
    limit: Decimal | None  # hedging.max_borrow x V; None: no limit configured
    binding: bool  # the limit held the plan's increases back


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything one planning step decided, in the quote currency."""

    as_of: datetime
    quote: str
    equity: Decimal
    futures_equity: Decimal
    collateral: Decimal  # K, what the cap is on: futures equity, or a unified account's value
    max_leverage: Decimal
    leverage_budget: Decimal  # the gross notional the plan may end with
    gross_before: Decimal
    gross_after: Decimal
    required_collateral: Decimal  # collateral K a full rebalance would need
    collateral_shortfall: Decimal
    cap: CapState
    lines: tuple[PlanLine, ...]
    cash: CashLine
    orders: tuple[OrderIntent, ...]
    skipped: tuple[SkippedLeg, ...]
    notes: tuple[str, ...] = ()
    borrowing: Borrowing | None = None  # unified accounts only
    carry: CarryFigures | None = None  # attached by carry.with_carry, not by the planner

    @property
    def largest_drift_before(self) -> Decimal:
        return max((abs(line.drift_before) for line in self.lines), default=Decimal(0))

    @property
    def largest_drift_after(self) -> Decimal:
        return max((abs(line.drift_after) for line in self.lines), default=Decimal(0))

    @property
    def leverage_after(self) -> Decimal | None:
        """Gross notional over collateral K once the orders fill (None without collateral)."""
        return self.gross_after / self.collateral if self.collateral > 0 else None

    @property
    def traded_notional(self) -> Decimal:
        return sum((o.notional for o in self.orders), Decimal(0))
