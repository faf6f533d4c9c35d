"""Spot balances (free/locked per asset) and spot market fills.

Binance charges the spot commission in the asset received (base on a buy, quote on a sell);
the book does the same so a resting buy can lock exactly price x quantity of the quote.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from rebalancer.sim.fees import FeeSchedule
from rebalancer.sim.fills import SlippageModel
from rebalancer.sim.rules import check_min_notional, check_quantity
from rebalancer.sim.values import (
    ZERO,
    Balance,
    Liquidity,
    Rejection,
    RejectReason,
    Side,
    SpotFill,
    SpotSpec,
)


class SpotBook:
    def __init__(self, *, quote: str, fees: FeeSchedule, slippage: SlippageModel) -> None:
        self.quote = quote
        self._fees = fees
        self._slippage = slippage
        self._markets: dict[str, SpotSpec] = {}
        self._prices: dict[str, Decimal] = {}
        self._balances: dict[str, Balance] = {}

    def add_market(self, spec: SpotSpec) -> None:
        self._markets[spec.symbol] = spec

    def market(self, symbol: str) -> SpotSpec | None:
        return self._markets.get(symbol)

    @property
    def markets(self) -> tuple[SpotSpec, ...]:
        return tuple(self._markets.values())

    def set_price(self, symbol: str, price: Decimal) -> None:
        if price <= 0:
            raise ValueError(f"spot price must be positive, got {price}")
        self._prices[symbol] = price

    def price(self, symbol: str) -> Decimal | None:
        return self._prices.get(symbol)

    def balance(self, asset: str) -> Balance:
        return self._balances.get(asset, Balance(asset, ZERO, ZERO))

    def balances(self) -> tuple[Balance, ...]:
        return tuple(self._balances.values())

    def credit(self, asset: str, amount: Decimal) -> None:
        current = self.balance(asset)
        self._balances[asset] = Balance(asset, current.free + amount, current.locked)

    def debit_free(self, asset: str, amount: Decimal) -> Rejection | None:
        current = self.balance(asset)
        if amount <= 0:
            return Rejection(RejectReason.INVALID_AMOUNT, f"amount {amount} must be positive")
        if amount > current.free:
            return Rejection(
                RejectReason.INSUFFICIENT_BALANCE,
                f"{asset} free {current.free} is less than {amount}",
            )
        self._balances[asset] = Balance(asset, current.free - amount, current.locked)
        return None

    def lock(self, asset: str, amount: Decimal) -> Rejection | None:
        rejection = self.debit_free(asset, amount)
        if rejection is None:
            current = self.balance(asset)
            self._balances[asset] = Balance(asset, current.free, current.locked + amount)
        return rejection

    def unlock(self, asset: str, amount: Decimal) -> None:
        current = self.balance(asset)
        released = min(amount, current.locked)
        self._balances[asset] = Balance(asset, current.free + released, current.locked - released)

    def value(self, asset_prices: Mapping[str, Decimal]) -> Decimal:
        total = ZERO
        for balance in self._balances.values():
            if not balance.total:
                continue
            price = Decimal(1) if balance.asset == self.quote else asset_prices[balance.asset]
            total += balance.total * price
        return total

    def market_order(
        self, symbol: str, side: Side, qty: Decimal, *, at: datetime
    ) -> SpotFill | Rejection:
        spec = self._markets.get(symbol)
        if spec is None:
            return Rejection(RejectReason.UNKNOWN_SYMBOL, symbol)
        price = self._prices.get(symbol)
        if price is None:
            return Rejection(RejectReason.NO_PRICE, f"no price for {symbol}")
        fill_price = self._slippage.fill_price(price, side)
        return self.execute(spec, side, qty, fill_price, at=at, liquidity=Liquidity.TAKER)

    def execute(
        self,
        spec: SpotSpec,
        side: Side,
        qty: Decimal,
        price: Decimal,
        *,
        at: datetime,
        liquidity: Liquidity,
        from_locked: bool = False,
    ) -> SpotFill | Rejection:
        """Fill at `price`; `from_locked` spends what a resting order locked instead of free."""
        rejection = check_quantity(qty, spec.step_size, spec.min_qty) or check_min_notional(
            qty, price, spec.min_notional, reduce_only=False
        )
        if rejection is not None:
            return rejection
        paid_asset, paid = (spec.quote, qty * price) if side is Side.BUY else (spec.base, qty)
        got_asset, got = (spec.base, qty) if side is Side.BUY else (spec.quote, qty * price)
        fee = self._fees.fee(got, liquidity)
        current = self.balance(paid_asset)
        available = current.locked if from_locked else current.free
        if paid > available:
            return Rejection(
                RejectReason.INSUFFICIENT_BALANCE,
                f"{paid_asset} {'locked' if from_locked else 'free'} {available} < {paid}",
            )
        if from_locked:
            self._balances[paid_asset] = Balance(paid_asset, current.free, current.locked - paid)
        else:
            self._balances[paid_asset] = Balance(paid_asset, current.free - paid, current.locked)
        self.credit(got_asset, got - fee)
        return SpotFill(spec.symbol, side, qty, price, fee, got_asset, at)
