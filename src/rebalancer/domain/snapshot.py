"""A point-in-time picture of the account: what the planner sees, and all it sees.

`s_a`, `p_a`, `h_a`, `m_a`, `C` and `F` of DESIGN §2 live here; `V` and the collateral `K` are
derived. The snapshot says which kind of account it read (DESIGN §2, "Account kinds"):

- segregated: `cash` is the spot wallet's quote (>= 0), `futures_equity` the separate futures
  wallet plus unrealized PnL; K = F.
- unified: one account. `cash` is its quote balance, negative when borrowed; `futures_equity`
  is the perps' unrealized PnL not yet settled into that balance; K is the exchange's own
  collateral value (`collateral_value`, read, never recomputed from guessed haircuts).

Either way V = sum(s p) + cash + futures_equity counts every unit once. A snapshot is
validated on construction so that the planner can trust it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum

from rebalancer.domain.market import ZERO, MarketRules
from rebalancer.domain.plan import OrderIntent


class AccountKind(Enum):
    """How the exchange holds the spot and futures legs (DESIGN §2)."""

    SEGREGATED = "segregated"  # a spot wallet and a separate futures wallet
    UNIFIED = "unified"  # one account: coins are collateral, the quote may be borrowed


@dataclass(frozen=True, slots=True)
class SpotHolding:
    """Spot quantity of one asset (exchange wallet free+locked, plus off-exchange) and its price."""

    asset: str
    price: Decimal
    exchange: Decimal = ZERO
    off_exchange: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.price <= 0:
            raise ValueError(f"spot.{self.asset}.price must be > 0, got {self.price}")
        if self.exchange < 0 or self.off_exchange < 0:
            raise ValueError(f"spot.{self.asset}: quantities must be >= 0")

    @property
    def quantity(self) -> Decimal:
        return self.exchange + self.off_exchange

    @property
    def value(self) -> Decimal:
        return self.quantity * self.price


@dataclass(frozen=True, slots=True)
class PerpState:
    """One perpetual market: its rules, the signed position (base units) and the mark price."""

    rules: MarketRules
    mark: Decimal
    position: Decimal = ZERO
    funding_rate: Decimal | None = None  # the venue's current rate per funding interval

    def __post_init__(self) -> None:
        if self.mark <= 0:
            raise ValueError(f"perps.{self.rules.symbol}.mark must be > 0, got {self.mark}")

    @property
    def notional(self) -> Decimal:
        """Signed exposure of the position in the quote currency (h x m)."""
        return self.position * self.mark


@dataclass(frozen=True, slots=True)
class Borrowing:
    """The quote a unified account has borrowed (its negative quote balance) and that amount's
    share of equity V (None when V is not positive: no share to speak of)."""

    amount: Decimal
    share: Decimal | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Balances, positions and prices at one instant. Mappings are treated as read-only."""

    taken_at: datetime
    quote: str
    cash: Decimal
    futures_equity: Decimal
    spot: Mapping[str, SpotHolding] = field(default_factory=dict)
    perps: Mapping[str, PerpState] = field(default_factory=dict)
    kind: AccountKind = AccountKind.SEGREGATED
    collateral_value: Decimal | None = None  # unified only: the exchange's figure
    maintenance_margin: Decimal | None = None  # the exchange's figure, where it gives one

    def __post_init__(self) -> None:
        if self.taken_at.utcoffset() != timedelta(0):
            raise ValueError("taken_at must be an aware UTC time")
        unified = self.kind is AccountKind.UNIFIED
        if self.cash < 0 and not unified:
            raise ValueError(f"cash must be >= 0, got {self.cash}")
        if unified and self.collateral_value is None:
            raise ValueError("a unified account's snapshot needs the exchange's collateral value")
        if not unified and self.collateral_value is not None:
            raise ValueError("collateral_value is a unified account's figure; here K is F")
        if self.maintenance_margin is not None and self.maintenance_margin < 0:
            raise ValueError(f"maintenance_margin must be >= 0, got {self.maintenance_margin}")
        for key, holding in self.spot.items():
            if key != holding.asset:
                raise ValueError(f"spot key {key!r} does not match asset {holding.asset!r}")
        for key, perp in self.perps.items():
            if key != perp.rules.symbol:
                raise ValueError(f"perps key {key!r} does not match symbol {perp.rules.symbol!r}")

    @property
    def spot_value(self) -> Decimal:
        return sum((h.value for h in self.spot.values()), ZERO)

    @property
    def equity(self) -> Decimal:
        """V = sum(s_a p_a) + C + F; unified: coins + the quote (signed) + unsettled PnL."""
        return self.spot_value + self.cash + self.futures_equity

    @property
    def collateral(self) -> Decimal:
        """K, what the leverage cap is on: F when segregated, the exchange's value when unified."""
        if self.collateral_value is not None:
            return self.collateral_value
        return self.futures_equity

    @property
    def borrowed(self) -> Decimal:
        """Quote a unified account has borrowed: how far its quote balance with the perps'
        unsettled PnL is below zero (an unrealised perp loss the balance cannot cover is a
        liability that pays interest, as the venues and the sim account count it). A segregated
        account borrows nothing: its spot quote cannot go negative."""
        if self.kind is not AccountKind.UNIFIED:
            return ZERO
        return max(-(self.cash + self.futures_equity), ZERO)

    @property
    def borrowing(self) -> Borrowing | None:
        """What a unified account borrows, shown beside its equity; None when segregated
        (a segregated account borrows nothing: its spot wallet cannot go negative)."""
        if self.kind is not AccountKind.UNIFIED:
            return None
        equity = self.equity
        return Borrowing(self.borrowed, self.borrowed / equity if equity > 0 else None)

    @property
    def gross_notional(self) -> Decimal:
        return sum((abs(p.notional) for p in self.perps.values()), ZERO)

    def positions_after(self, orders: Iterable[OrderIntent]) -> dict[str, Decimal]:
        """Each perp's position once `orders` fill (the last order on an instrument sets it)."""
        after = {symbol: perp.position for symbol, perp in self.perps.items()}
        for order in orders:
            after[order.instrument] = order.position_after
        return after

    def gross_at(self, positions: Mapping[str, Decimal]) -> Decimal:
        """The gross notional of `positions` at the perps' marks."""
        perps = self.perps
        return sum((abs(q) * perps[symbol].mark for symbol, q in positions.items()), ZERO)

    def holding(self, asset: str) -> SpotHolding | None:
        return self.spot.get(asset)
