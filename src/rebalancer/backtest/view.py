"""The engine's two views of the sim account: the domain `Snapshot` the planner and triggers read
(exact, `Decimal`), and the float state the vectorized scan projects over the coming bars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from rebalancer.backtest.setup import MIN_NOTIONAL, Costs
from rebalancer.backtest.universe import Universe
from rebalancer.domain.market import MarketRules
from rebalancer.domain.snapshot import AccountKind, PerpState, Snapshot, SpotHolding
from rebalancer.sim import Account


def perp_rules(universe: Universe, costs: Costs) -> tuple[MarketRules, ...]:
    """The rules of each instrument as the planner reads them (fixed for a whole run)."""
    return tuple(
        MarketRules(
            instrument.symbol,
            amount_step=instrument.step,
            min_amount=instrument.step,
            min_notional=MIN_NOTIONAL,
            taker_fee=costs.planner_fee,
        )
        for instrument in universe.instruments
    )


def snapshot_of(
    account: Account,
    universe: Universe,
    costs: Costs,
    at: datetime,
    rules: tuple[MarketRules, ...] | None = None,
) -> Snapshot:
    """What a live cycle would read from the exchange, taken from the sim account.

    `rules`: `perp_rules(universe, costs)`, built once by a caller that takes many snapshots.
    """
    spot = {}
    for asset in universe.assets:
        price = account.spot.price(asset.spot_symbol)
        assert price is not None  # set_prices runs before any snapshot  # noqa: S101
        spot[asset.name] = SpotHolding(
            asset.name, price, exchange=account.balance(asset.name).total
        )
    perps = {}
    for instrument, rule in zip(
        universe.instruments, rules or perp_rules(universe, costs), strict=True
    ):
        mark = account.mark(instrument.symbol)
        assert mark is not None  # noqa: S101
        perps[instrument.symbol] = PerpState(
            rule, mark, position=account.position(instrument.symbol).size
        )
    if account.unified:
        # One account: the quote balance (signed: negative is borrowed), the perps' unsettled
        # PnL, and the collateral value the exchange would report (coins at their ratios).
        return Snapshot(
            taken_at=at,
            quote=universe.quote,
            cash=account.quote_balance(),
            futures_equity=account.unrealized_pnl(),
            spot=spot,
            perps=perps,
            kind=AccountKind.UNIFIED,
            collateral_value=account.collateral_value(),
            maintenance_margin=account.maintenance_margin(),
        )
    return Snapshot(
        taken_at=at,
        quote=universe.quote,
        cash=account.balance(universe.quote).total,
        futures_equity=account.margin_balance(),
        spot=spot,
        perps=perps,
    )


@dataclass(frozen=True, slots=True)
class FloatState:
    """Holdings frozen between two actions, as floats for the scan (never used for money)."""

    spot: npt.NDArray[np.float64]  # per asset
    positions: npt.NDArray[np.float64]  # per instrument
    maintenance: npt.NDArray[np.float64]  # maintenance margin rate per instrument
    cost: float  # sum of the positions' cost bases
    cash: float  # spot quote balance
    ratios: npt.NDArray[np.float64] | None = None  # unified: collateral ratio per asset
    borrow_rate: float = 0.0  # unified: annual interest on borrowed quote

    @property
    def hedged(self) -> bool:
        return bool(np.any(self.positions))


def float_state(account: Account, universe: Universe) -> FloatState:
    positions = [account.position(i.symbol) for i in universe.instruments]
    rates = []
    for instrument in universe.instruments:
        spec = account.perp_spec(instrument.symbol)
        rates.append(float(spec.maintenance_margin_rate) if spec else 0.0)
    return FloatState(
        spot=np.array([float(account.balance(a.name).total) for a in universe.assets]),
        positions=np.array([float(p.size) for p in positions]),
        maintenance=np.array(rates),
        cost=float(sum(p.cost for p in positions)),
        cash=float(account.balance(universe.quote).total),
        ratios=(
            np.array([float(account.haircuts.get(a.name, 0)) for a in universe.assets])
            if account.unified
            else None
        ),
        borrow_rate=float(account.borrow_rate) if account.unified else 0.0,
    )
