"""The simulated account: the one mutable object of the engine and the only way to change its
state (spot balances, the USDⓈ-M futures wallet, perp positions, leverage and margin mode).

Two account kinds (DESIGN §2). Segregated: a spot wallet and a separate futures wallet that
alone backs the perps. Unified (`haircuts` set): one account whose quote balance is the futures
wallet plus the spot quote, negative when borrowed; the coins back the perps at their
collateral ratios; borrowed quote accrues interest (`accrue_interest`, recorded in `charges`);
maintenance and liquidation are on the collateral value, which moves with every price at once
(`liquidation_move`: the joint move of all prices that liquidates it).

Every operation either applies completely and returns a typed result, or returns a `Rejection`
and changes nothing. No I/O and no clock: callers pass aware UTC times in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from rebalancer.sim import margin
from rebalancer.sim.fees import FeeSchedule
from rebalancer.sim.fills import NO_SLIPPAGE, SlippageModel, apply_trade
from rebalancer.sim.funding import funding_payment, interest_charge
from rebalancer.sim.margin import MarginLine
from rebalancer.sim.rules import check_min_notional, check_quantity, check_reduce_only
from rebalancer.sim.spot import SpotBook
from rebalancer.sim.values import (
    ZERO,
    Balance,
    Fill,
    FundingPayment,
    InterestCharge,
    LiquidationReport,
    Liquidity,
    MarginMode,
    PerpSpec,
    Position,
    Rejection,
    RejectReason,
    Side,
    SpotFill,
    SpotSpec,
)


def _increases(old: Decimal, new: Decimal) -> bool:
    """True when a trade adds exposure: opens, grows, or flips to the other side."""
    return new != 0 and (old == 0 or (old > 0) != (new > 0) or abs(new) > abs(old))


class Account:
    """Spot wallet + one cross-margined USDⓈ-M futures wallet settled in `quote`."""

    def __init__(
        self,
        *,
        quote: str = "USDT",
        fees: FeeSchedule | None = None,
        slippage: SlippageModel = NO_SLIPPAGE,
        default_leverage: int = 1,
    ) -> None:
        self.quote = quote
        self.fees = fees if fees is not None else FeeSchedule()
        self.slippage = slippage
        self.default_leverage = default_leverage
        self.spot = SpotBook(quote=quote, fees=self.fees, slippage=slippage)
        self._perps: dict[str, PerpSpec] = {}
        self._marks: dict[str, Decimal] = {}
        self._wallet = ZERO
        self._positions: dict[str, Position] = {}
        self._leverage: dict[str, int] = {}
        self._margin_mode: dict[str, MarginMode] = {}
        self._insurance_fund_loss = ZERO
        # Unified account (Bybit UTA): spot coins back the perps at these collateral ratios and
        # the quote wallet may go negative (borrowed). Empty: a segregated futures wallet.
        self.haircuts: dict[str, Decimal] = {}
        self.borrow_rate = ZERO  # annual interest on borrowed quote (unified)
        self.charges: list[InterestCharge] = []  # the account's own record of interest charged
        self._interest_since: datetime | None = None

    # -- instruments and prices ---------------------------------------------------------------

    def add_perp(self, spec: PerpSpec) -> None:
        self._perps[spec.symbol] = spec

    def add_spot(self, spec: SpotSpec) -> None:
        self.spot.add_market(spec)

    def perp_spec(self, symbol: str) -> PerpSpec | None:
        return self._perps.get(symbol)

    @property
    def perps(self) -> tuple[PerpSpec, ...]:
        return tuple(self._perps.values())

    def set_mark(self, symbol: str, price: Decimal) -> None:
        if price <= 0:
            raise ValueError(f"mark price must be positive, got {price}")
        self._marks[symbol] = price

    def mark(self, symbol: str) -> Decimal | None:
        return self._marks.get(symbol)

    # -- balances and transfers ---------------------------------------------------------------

    @property
    def wallet_balance(self) -> Decimal:
        return self._wallet

    @property
    def insurance_fund_loss(self) -> Decimal:
        """Losses beyond the wallet that liquidations could not collect, cumulative."""
        return self._insurance_fund_loss

    def credit_futures(self, amount: Decimal) -> None:
        """Seed or top up the futures wallet from outside the account (state files, tests)."""
        self._wallet += amount

    def balance(self, asset: str) -> Balance:
        return self.spot.balance(asset)

    def transfer_to_futures(self, amount: Decimal) -> Rejection | None:
        rejection = self.spot.debit_free(self.quote, amount)
        if rejection is None:
            self._wallet += amount
        return rejection

    def transfer_to_spot(self, amount: Decimal) -> Rejection | None:
        if amount <= 0:
            return Rejection(RejectReason.INVALID_AMOUNT, f"amount {amount} must be positive")
        if amount > self.max_withdraw():
            return Rejection(
                RejectReason.INSUFFICIENT_BALANCE,
                f"amount {amount} exceeds the withdrawable {self.max_withdraw()}",
            )
        self._wallet -= amount
        self.spot.credit(self.quote, amount)
        return None

    # -- positions and settings ---------------------------------------------------------------

    def position(self, symbol: str) -> Position:
        return self._positions.get(symbol, Position(symbol=symbol, size=ZERO, cost=ZERO))

    def positions(self) -> tuple[Position, ...]:
        return tuple(p for p in self._positions.values() if p.size)

    def restore_position(self, symbol: str, size: Decimal, cost: Decimal) -> None:
        """Install a position saved earlier with its exact cost basis; bypasses all checks."""
        self._positions[symbol] = Position(symbol=symbol, size=size, cost=cost)

    def seed_position(self, symbol: str, size: Decimal, entry_price: Decimal) -> None:
        """Install a position as if opened earlier (initial state); bypasses all checks."""
        self._positions[symbol] = Position(symbol=symbol, size=size, cost=size * entry_price)

    def leverage(self, symbol: str) -> int:
        return self._leverage.get(symbol, self.default_leverage)

    def set_leverage(self, symbol: str, leverage: int) -> Rejection | None:
        spec = self._perps.get(symbol)
        if spec is None:
            return Rejection(RejectReason.UNKNOWN_SYMBOL, symbol)
        if not 1 <= leverage <= spec.max_leverage:
            return Rejection(
                RejectReason.INVALID_LEVERAGE,
                f"leverage {leverage} outside 1..{spec.max_leverage}",
            )
        self._leverage[symbol] = leverage
        return None

    def margin_mode(self, symbol: str) -> MarginMode:
        return self._margin_mode.get(symbol, MarginMode.CROSS)

    def set_margin_mode(self, symbol: str, mode: MarginMode) -> Rejection | None:
        if symbol not in self._perps:
            return Rejection(RejectReason.UNKNOWN_SYMBOL, symbol)
        if self.margin_mode(symbol) is mode:
            return Rejection(
                RejectReason.MARGIN_MODE_UNCHANGED, f"{symbol} is already {mode.value}"
            )
        self._margin_mode[symbol] = mode
        return None

    # -- margin ---------------------------------------------------------------------------------

    def margin_lines(self) -> tuple[MarginLine, ...]:
        return tuple(self._line(p.symbol, p.size, p.cost) for p in self.positions())

    def _line(self, symbol: str, size: Decimal, cost: Decimal) -> MarginLine:
        spec = self._perps[symbol]
        mark = self._marks.get(symbol)
        if mark is None:
            raise LookupError(f"no mark price for {symbol}")
        return MarginLine(
            symbol=symbol,
            size=size,
            cost=cost,
            mark=mark,
            leverage=self.leverage(symbol),
            maintenance_margin_rate=spec.maintenance_margin_rate,
        )

    def unrealized_pnl(self) -> Decimal:
        return margin.unrealized_pnl(self.margin_lines())

    @property
    def unified(self) -> bool:
        return bool(self.haircuts)

    def quote_balance(self) -> Decimal:
        """Unified: the one quote balance (futures wallet + spot quote), negative when borrowed.
        Segregated: the futures wallet."""
        if not self.unified:
            return self._wallet
        return self._wallet + self.spot.balance(self.quote).total

    def borrowed(self) -> Decimal:
        """Quote a unified account has borrowed: what its quote equity (the balance plus the
        perps' unsettled PnL) is below zero - Bybit counts unrealised perp losses as a liability
        that pays interest. 0 when segregated."""
        if not self.unified:
            return ZERO
        return max(ZERO, -(self.quote_balance() + self.unrealized_pnl()))

    def interest_paid(self) -> Decimal:
        return sum((charge.amount for charge in self.charges), ZERO)

    def accrue_interest(self, at: datetime) -> InterestCharge | None:
        """Charge interest on the quote borrowed now over the span since the last accrual
        (callers set the prices of `at` first and accrue before they trade), debit it and record
        it in `charges`. The first call only starts the clock. Returns the charge, or None when
        nothing is due."""
        since = self._interest_since
        if since is not None and at <= since:
            return None
        self._interest_since = at
        if since is None:
            return None
        borrowed = self.borrowed()
        if not borrowed or not self.borrow_rate:
            return None
        charge = interest_charge(self.quote, borrowed, self.borrow_rate, since, at)
        if not charge.amount:
            return None
        self._wallet -= charge.amount
        self.charges.append(charge)
        return charge

    @property
    def interest_since(self) -> datetime | None:
        """When interest was last accrued (None: the clock has not started)."""
        return self._interest_since

    def resume_interest(self, since: datetime) -> None:
        """Restore the interest clock of a saved account; the next accrual covers from here."""
        self._interest_since = since

    def coin_collateral(self) -> Decimal:
        """Unified: the spot coins' value at their collateral ratios (0 when segregated)."""
        return sum(
            (qty * price * self.haircuts[asset] for asset, qty, price in self._coins()), ZERO
        )

    def _coins(self) -> list[tuple[str, Decimal, Decimal]]:
        """(coin, quantity, price) of every collateral coin held that has a price in the quote."""
        coins = []
        for spec in self.spot.markets:
            if spec.base in self.haircuts and spec.quote == self.quote:
                price = self.spot.price(spec.symbol)
                quantity = self.spot.balance(spec.base).total
                if price is not None and quantity:
                    coins.append((spec.base, quantity, price))
        return coins

    def coin_value(self) -> Decimal:
        """Unified: the market value of the collateral coins (what a liquidation could sell)."""
        return sum((qty * price for _, qty, price in self._coins()), ZERO)

    def _backing(self) -> Decimal:
        return self.quote_balance() + self.coin_collateral()

    def margin_balance(self) -> Decimal:
        """Segregated: the futures wallet + uPnL. Unified: the collateral value, coins at their
        ratios + the quote balance (signed, the spot quote included once) + uPnL."""
        return margin.margin_balance(self._backing(), self.margin_lines())

    def collateral_value(self) -> Decimal:
        """K of DESIGN §2: what the leverage cap and maintenance are on (= `margin_balance`)."""
        return self.margin_balance()

    def liquidation_move(self) -> Decimal | None:
        """Unified or not: the factor f by which all prices (spot and marks) moving together
        bring the collateral value down to the maintenance margin; None when no positive
        factor does (or nothing is open). Linear in f: f (A - M) + B = 0 with A the
        price-proportional collateral, M the maintenance and B the rest."""
        lines = self.margin_lines()
        if not lines:
            return None
        scaled = self.coin_collateral() + sum((ln.size * ln.mark for ln in lines), ZERO)
        fixed = self.quote_balance() - sum((ln.cost for ln in lines), ZERO)
        slope = scaled - margin.maintenance_margin(lines)
        if slope == 0:
            return None
        factor = -fixed / slope
        return factor if factor > 0 else None

    def initial_margin(self) -> Decimal:
        return margin.initial_margin(self.margin_lines())

    def maintenance_margin(self) -> Decimal:
        return margin.maintenance_margin(self.margin_lines())

    def available_balance(self) -> Decimal:
        return max(ZERO, self.margin_balance() - self.initial_margin())

    def max_withdraw(self) -> Decimal:
        return max(ZERO, min(self._wallet, self.available_balance()))

    def is_liquidatable(self) -> bool:
        return margin.is_liquidatable(self._backing(), self.margin_lines())

    def liquidation_price(self, symbol: str) -> Decimal | None:
        return margin.liquidation_price(self._backing(), self.margin_lines(), symbol)

    def equity(self, asset_prices: Mapping[str, Decimal]) -> Decimal:
        """Spot value (at `asset_prices`, the quote counting 1) + futures wallet + uPnL: every
        unit once (a unified account's collateral value is not added on top)."""
        return self.spot.value(asset_prices) + self._wallet + self.unrealized_pnl()

    # -- perp trading ---------------------------------------------------------------------------

    def check_perp_order(
        self, symbol: str, side: Side, qty: Decimal, *, reduce_only: bool = False
    ) -> Rejection | None:
        """Filter checks that do not depend on margin (what an exchange checks on admission)."""
        spec = self._perps.get(symbol)
        if spec is None:
            return Rejection(RejectReason.UNKNOWN_SYMBOL, symbol)
        mark = self._marks.get(symbol)
        if mark is None:
            return Rejection(RejectReason.NO_PRICE, f"no mark price for {symbol}")
        rejection = check_quantity(qty, spec.step_size, spec.min_qty)
        if rejection is None and reduce_only:
            rejection = check_reduce_only(self.position(symbol).size, side, qty)
        if rejection is None:
            rejection = check_min_notional(qty, mark, spec.min_notional, reduce_only=reduce_only)
        return rejection

    def market_order(
        self, symbol: str, side: Side, qty: Decimal, *, at: datetime, reduce_only: bool = False
    ) -> Fill | Rejection:
        """Fill at the mark moved against the taker by the slippage model; taker fee."""
        mark = self._marks.get(symbol)
        if mark is None:
            return Rejection(RejectReason.NO_PRICE, f"no mark price for {symbol}")
        price = self.slippage.fill_price(mark, side)
        return self.execute(
            symbol, side, qty, price, at=at, liquidity=Liquidity.TAKER, reduce_only=reduce_only
        )

    def execute(
        self,
        symbol: str,
        side: Side,
        qty: Decimal,
        price: Decimal,
        *,
        at: datetime,
        liquidity: Liquidity,
        reduce_only: bool = False,
    ) -> Fill | Rejection:
        """Fill `qty` at `price` (e.g. a resting limit order reached by the mark)."""
        rejection = self.check_perp_order(symbol, side, qty, reduce_only=reduce_only)
        if rejection is not None:
            return rejection
        before = self.position(symbol)
        effect = apply_trade(before.size, before.cost, side.sign * qty, price)
        fee = self.fees.fee(qty * price, liquidity)
        if _increases(before.size, effect.size):
            lines = [line for line in self.margin_lines() if line.symbol != symbol]
            lines.append(self._line(symbol, effect.size, effect.cost))
            wallet_after = self._wallet + effect.realized_pnl - fee
            required = margin.initial_margin(lines)
            available = margin.margin_balance(wallet_after + self.coin_collateral(), lines)
            if required > available:
                return Rejection(
                    RejectReason.INSUFFICIENT_MARGIN,
                    f"initial margin {required} exceeds margin balance {available}",
                )
        self._wallet += effect.realized_pnl - fee
        self._positions[symbol] = Position(symbol, effect.size, effect.cost, updated_at=at)
        return Fill(
            symbol=symbol,
            side=side,
            qty=qty,
            price=price,
            fee=fee,
            realized_pnl=effect.realized_pnl,
            liquidity=liquidity,
            at=at,
            position_after=effect.size,
        )

    # -- spot trading ---------------------------------------------------------------------------

    def spot_market_order(
        self, symbol: str, side: Side, qty: Decimal, *, at: datetime
    ) -> SpotFill | Rejection:
        return self.spot.market_order(symbol, side, qty, at=at)

    # -- funding and liquidation ----------------------------------------------------------------

    def apply_funding(
        self, rates: Mapping[str, Decimal], at: datetime
    ) -> tuple[FundingPayment, ...]:
        """Settle one funding interval for every open position that has a rate."""
        payments: list[FundingPayment] = []
        for position in self.positions():
            rate = rates.get(position.symbol)
            mark = self._marks.get(position.symbol)
            if rate is None or mark is None:
                continue
            payment = funding_payment(position.symbol, position.size, mark, rate, at)
            self._wallet += payment.amount
            payments.append(payment)
        return tuple(payments)

    def liquidate(self, at: datetime) -> LiquidationReport:
        """Close every position at its mark without fee; a deficit goes to the insurance fund
        so the wallet never ends negative. Unified: the quote may stay borrowed as long as the
        coins cover it; only a deficit beyond the coins' market value goes to the fund (selling
        coins to repay the borrowing is not modelled)."""
        fills: list[Fill] = []
        for position in self.positions():
            mark = self._marks[position.symbol]
            effect = apply_trade(position.size, position.cost, -position.size, mark)
            self._wallet += effect.realized_pnl
            self._positions[position.symbol] = Position(position.symbol, ZERO, ZERO, updated_at=at)
            fills.append(
                Fill(
                    symbol=position.symbol,
                    side=Side.SELL if position.size > 0 else Side.BUY,
                    qty=abs(position.size),
                    price=mark,
                    fee=ZERO,
                    realized_pnl=effect.realized_pnl,
                    liquidity=Liquidity.TAKER,
                    at=at,
                    position_after=ZERO,
                )
            )
        cover = self.spot.balance(self.quote).total + self.coin_value() if self.unified else ZERO
        loss = max(ZERO, -(self._wallet + cover))
        self._wallet += loss
        self._insurance_fund_loss += loss
        return LiquidationReport(fills=tuple(fills), insurance_fund_loss=loss, at=at)
