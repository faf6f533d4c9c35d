"""What one backtest run is (policy, strategy, costs, starting equity) and the simulated account
it starts from: the config's targets allocated at the first bar's closes.

For overlay policies the cash weight is USDT collateral in the futures wallet; for spot policies
and `hold` it is USDT in the spot wallet. The starting holdings are the user's existing
portfolio, so they are credited without trading fees.

`account` picks the account kind (DESIGN §2). Unified: the coins count as collateral at their
`haircuts` (collateral ratios), the quote may go negative (borrowed, at `borrow_rate` a year),
and the cap is on the collateral value; segregated: the futures wallet alone backs the hedges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rebalancer.backtest.policy import Policy
from rebalancer.backtest.universe import Universe
from rebalancer.config.model import missing_haircut
from rebalancer.domain.snapshot import AccountKind
from rebalancer.domain.strategy import Strategy
from rebalancer.sim import Account, FeeSchedule, PerpSpec, SlippageModel, SpotBook, SpotSpec

MIN_NOTIONAL = Decimal(5)
DEFAULT_HAIRCUTS = (("BTC", Decimal("0.95")), ("ETH", Decimal("0.95")))
DEFAULT_BORROW_RATE = Decimal("0.10")


@dataclass(frozen=True, slots=True)
class Costs:
    """Trading costs: taker fees (perp and spot), slippage in bps, maintenance margin rate."""

    perp_fee: Decimal = Decimal("0.0005")
    spot_fee: Decimal = Decimal("0.001")
    slippage_bps: Decimal = Decimal(2)
    maintenance_margin_rate: Decimal = Decimal("0.004")

    @property
    def planner_fee(self) -> Decimal:
        """What the planner reserves per unit traded: the fee plus the slippage."""
        return self.perp_fee + self.slippage_bps / Decimal(10_000)


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One backtest run; `params` are the swept settings that distinguish it, for reports."""

    name: str
    policy: Policy
    strategy: Strategy
    equity: Decimal = Decimal(10_000)
    costs: Costs = Costs()
    cron: str | None = None
    timezone: str = "UTC"
    margin_floor: Decimal = Decimal("0.5")  # roll when futures equity < floor x gross notional
    drift_check: int = (
        0  # seconds between drift checks (schedule.drift_check_interval); 0: every bar
    )
    params: tuple[tuple[str, str], ...] = ()
    account: AccountKind = AccountKind.SEGREGATED
    haircuts: tuple[tuple[str, Decimal], ...] = DEFAULT_HAIRCUTS  # unified: collateral ratios
    borrow_rate: Decimal = DEFAULT_BORROW_RATE  # unified: annual interest on borrowed quote

    @property
    def unified(self) -> bool:
        return self.account is AccountKind.UNIFIED


def collateral_ratios(spec: RunSpec, universe: Universe) -> dict[str, Decimal]:
    """Unified: every asset's collateral ratio; a missing one is a config error, never a guess."""
    given = dict(spec.haircuts)
    missing = [a.name for a in universe.assets if a.name not in given]
    if missing:
        raise ValueError(missing_haircut(missing))
    return {a.name: given[a.name] for a in universe.assets}


def open_account(spec: RunSpec, universe: Universe, prices: Sequence[Decimal]) -> Account:
    """A sim account holding the target allocation of `spec.equity` at `prices` (per column)."""
    costs = spec.costs
    slippage = SlippageModel(costs.slippage_bps)
    account = Account(
        quote=universe.quote,
        fees=FeeSchedule(costs.perp_fee, costs.perp_fee),
        slippage=slippage,
    )
    # The sim has one fee schedule; spot pays its own (higher) rate through its own book.
    account.spot = SpotBook(
        quote=universe.quote, fees=FeeSchedule(costs.spot_fee, costs.spot_fee), slippage=slippage
    )
    for asset in universe.assets:
        account.add_spot(
            SpotSpec(
                asset.spot_symbol, asset.name, universe.quote, asset.step, asset.step, MIN_NOTIONAL
            )
        )
    for instrument in universe.instruments:
        account.add_perp(
            PerpSpec(
                instrument.symbol,
                instrument.base,
                universe.quote,
                instrument.step,
                instrument.step,
                MIN_NOTIONAL,
                maintenance_margin_rate=costs.maintenance_margin_rate,
            )
        )
    if spec.unified:
        account.haircuts.update(collateral_ratios(spec, universe))
        account.borrow_rate = spec.borrow_rate
    set_prices(account, universe, prices)
    weights = spec.strategy.weights
    for asset in universe.assets:
        quantity = weights[asset.name] * spec.equity / prices[asset.column]
        if quantity:
            account.spot.credit(asset.name, quantity)
    cash = spec.strategy.cash_weight * spec.equity
    if cash:
        if spec.policy.hedges:
            account.credit_futures(cash)
        else:
            account.spot.credit(universe.quote, cash)
    return account


def set_prices(account: Account, universe: Universe, prices: Sequence[Decimal]) -> None:
    for asset in universe.assets:
        account.spot.set_price(asset.spot_symbol, prices[asset.column])
    for instrument in universe.instruments:
        account.set_mark(instrument.symbol, prices[instrument.column])
