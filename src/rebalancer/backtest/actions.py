"""What a policy does once it has decided to act, always through the sim account.

`execute_plan` sends the planner's perp orders in the plan's order (reductions first).
`trade_spot` realises the planner's wanted exposure changes in spot instead of perps (spot
rebalancing, and the spot half of a roll). `roll` closes every hedge and trades spot to target,
leaving the cash weight in the futures wallet as collateral.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from rebalancer.backtest.ledger import ZERO, Ledger
from rebalancer.backtest.setup import MIN_NOTIONAL
from rebalancer.backtest.universe import Universe
from rebalancer.domain.plan import Plan
from rebalancer.domain.plan import Side as PlanSide
from rebalancer.domain.planner import plan as make_plan
from rebalancer.domain.snapshot import Snapshot
from rebalancer.domain.strategy import RebalanceTo, Strategy
from rebalancer.sim import Account, Fill, Rejection, Side

# Buys are sized a hair under the cash they may spend, so that price rounding never overdraws.
_BUY_HEADROOM = Decimal("0.999999")


def execute_plan(account: Account, plan: Plan, bar: int, at: datetime, ledger: Ledger) -> int:
    """Send the plan's orders; returns how many filled."""
    filled = 0
    for order in plan.orders:
        side = Side.BUY if order.side is PlanSide.BUY else Side.SELL
        mark = account.mark(order.instrument) or order.mark
        result = account.market_order(
            order.instrument, side, order.amount, at=at, reduce_only=order.reduce_only
        )
        if isinstance(result, Rejection):
            ledger.rejection(bar, f"{side.value} {order.amount} {order.instrument}", result)
            continue
        ledger.perp_fill(bar, result, mark)
        filled += 1
    return filled


def spot_changes(plan: Plan, strategy: Strategy) -> dict[str, Decimal]:
    """Per asset, the spot value to buy (> 0) or sell (< 0) for the plan's wanted exposure.

    A line's change is split over its members by beta-weighted target weight, and a proxy
    member's spot moves by the change over its beta.
    """
    changes: dict[str, Decimal] = {}
    for line in plan.lines:
        change = line.desired_hedge - line.hedge_before
        if not change:
            continue
        members = [(a, strategy.weights[a], strategy.hedges[a].beta) for a in line.assets]
        total = sum((w * b for _, w, b in members), ZERO)
        for asset, weight, beta in members:
            share = weight * beta / total if total else Decimal(1) / len(members)
            changes[asset] = changes.get(asset, ZERO) + change * share / beta
    return changes


def trade_spot(
    account: Account,
    universe: Universe,
    changes: dict[str, Decimal],
    *,
    min_trade: Decimal,
    bar: int,
    at: datetime,
    ledger: Ledger,
    between: Callable[[], None] | None = None,
) -> int:
    """Sell first, then buy with the quote cash there is; `between` runs after the sells."""
    quote = universe.quote
    floor = max(MIN_NOTIONAL, min_trade)
    filled = 0
    orders: list[tuple[str, str, Side, Decimal, Decimal]] = []
    for asset in universe.assets:
        change = changes.get(asset.name, ZERO)
        price = account.spot.price(asset.spot_symbol)
        if not change or price is None or abs(change) < floor:
            continue
        quantity = (abs(change) / price).quantize(asset.step, ROUND_DOWN)
        side = Side.BUY if change > 0 else Side.SELL
        if side is Side.SELL:
            held = account.balance(asset.name).free.quantize(asset.step, ROUND_DOWN)
            quantity = min(quantity, held)
        if quantity * price >= floor:
            orders.append((asset.name, asset.spot_symbol, side, quantity, price))
    for _, symbol, side, quantity, price in orders:
        if side is Side.SELL:
            filled += _spot(
                account,
                symbol=symbol,
                side=side,
                quantity=quantity,
                price=price,
                bar=bar,
                at=at,
                ledger=ledger,
                quote=quote,
            )
    if between is not None:
        between()
    buys = [o for o in orders if o[2] is Side.BUY]
    slip = 1 + account.slippage.bps / Decimal(10_000)
    wanted = sum((q * p * slip for _, _, _, q, p in buys), ZERO)
    cash = account.balance(quote).free
    scale = min(Decimal(1), cash * _BUY_HEADROOM / wanted) if wanted else Decimal(1)
    steps = {a.spot_symbol: a.step for a in universe.assets}
    for _, symbol, side, quantity, price in buys:
        sized = (quantity * scale).quantize(steps[symbol], ROUND_DOWN)
        if sized * price >= floor:
            filled += _spot(
                account,
                symbol=symbol,
                side=side,
                quantity=sized,
                price=price,
                bar=bar,
                at=at,
                ledger=ledger,
                quote=quote,
            )
    return filled


def _spot(
    account: Account,
    *,
    symbol: str,
    side: Side,
    quantity: Decimal,
    price: Decimal,
    bar: int,
    at: datetime,
    ledger: Ledger,
    quote: str,
) -> int:
    result = account.spot_market_order(symbol, side, quantity, at=at)
    if isinstance(result, Rejection):
        ledger.rejection(bar, f"spot {side.value} {quantity} {symbol}", result)
        return 0
    ledger.spot_fill(bar, result, price, quote)
    return 1


def close_hedges(account: Account, bar: int, at: datetime, ledger: Ledger) -> None:
    for position in account.positions():
        side = Side.SELL if position.size > 0 else Side.BUY
        mark = account.mark(position.symbol)
        result = account.market_order(
            position.symbol, side, abs(position.size), at=at, reduce_only=True
        )
        if isinstance(result, Fill) and mark is not None:
            ledger.perp_fill(bar, result, mark)
        elif isinstance(result, Rejection):
            ledger.rejection(bar, f"close {position.symbol}", result)


def roll(
    account: Account,
    universe: Universe,
    strategy: Strategy,
    snapshot: Callable[[], Snapshot],
    *,
    bar: int,
    at: datetime,
    ledger: Ledger,
) -> None:
    """Realise the overlay in spot: close the hedges, trade spot to target, and keep the cash
    weight of equity as futures collateral (any surplus spot cash goes there too)."""
    close_hedges(account, bar, at, ledger)
    after_close = snapshot()
    target = make_plan(after_close, replace(strategy, rebalance_to=RebalanceTo.TARGET))
    collateral = strategy.cash_weight * after_close.equity

    def release_surplus() -> None:
        surplus = min(account.wallet_balance - collateral, account.max_withdraw())
        if surplus > 0:
            account.transfer_to_spot(surplus)

    trade_spot(
        account,
        universe,
        spot_changes(target, strategy),
        min_trade=strategy.min_trade_notional,
        bar=bar,
        at=at,
        ledger=ledger,
        between=release_surplus,
    )
    rest = account.balance(universe.quote).free
    if rest > 0:
        account.transfer_to_futures(rest)
    ledger.rolls += 1
