"""The emulated venue: one sim `Account` plus Binance's order semantics around it (order ids,
client-order-id rules, resting limit orders, trades, funding clock, account settings).

Every public method runs under one re-entrant lock, so the HTTP server may call it from many
threads; each either succeeds or raises the `BinanceError` the real venue would answer.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal

from rebalancer.emulator.carry_book import (
    FUNDING_INTERVAL,
    HOURS_A_YEAR,
    INTEREST_INTERVAL,
    CarryBook,
    last_slot,
)
from rebalancer.emulator.errors import (
    BinanceError,
    bad_param,
    futures_rejection,
    invalid_symbol,
    order_not_found,
    spot_rejection,
    unknown_order,
)
from rebalancer.emulator.orders import (
    CLIENT_ORDER_ID,
    Order,
    OrderStatus,
    OrderStore,
    OrderType,
    Segment,
    Trade,
)
from rebalancer.emulator.params import OrderRequest
from rebalancer.emulator.state import EmulatorState, build_account
from rebalancer.sim import (
    Account,
    Fill,
    FundingPayment,
    LiquidationReport,
    Liquidity,
    Rejection,
    Side,
    SpotFill,
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _crosses(side: Side, limit: Decimal, price: Decimal) -> bool:
    return price <= limit if side is Side.BUY else price >= limit


class Exchange:
    def __init__(self, state: EmulatorState, clock: Callable[[], datetime] = _utc_now) -> None:
        self.lock = threading.RLock()
        self.state = state
        self.clock = clock
        self.account: Account = build_account(state)
        self.store = OrderStore()
        self.funding_rates: dict[str, Decimal] = dict(state.funding_rates)
        self.funding_history: list[FundingPayment] = []
        self.liquidations: list[LiquidationReport] = []
        self.dual_side_position = False
        # Venue-specific account settings a dialect reports (OKX: "acctLv").
        self.venue_settings: dict[str, str] = {}
        self.multi_assets_margin = False  # Binance "Multi-Assets Mode" (tests switch it on)
        self._next_transfer_id = 700_000_001
        now = clock()
        self.carry = CarryBook(last_slot(now, FUNDING_INTERVAL), last_slot(now, INTEREST_INTERVAL))

    def now_ms(self) -> int:
        return to_ms(self.clock())

    def next_funding_ms(self) -> int:
        now = self.clock()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        slots = int((now - midnight) / FUNDING_INTERVAL) + 1
        return to_ms(midnight + slots * FUNDING_INTERVAL)

    # -- prices and funding ---------------------------------------------------------------------

    def set_mark_price(self, symbol: str, price: Decimal) -> None:
        with self.lock:
            if self.account.perp_spec(symbol) is None:
                raise invalid_symbol()
            self.account.set_mark(symbol, price)
            self._match_resting(Segment.FUTURES, symbol, price)
            if self.account.is_liquidatable():
                # The venue's liquidation engine acts on the mark, not on the next request.
                self.liquidations.append(self.account.liquidate(self.clock()))

    def set_spot_price(self, symbol: str, price: Decimal) -> None:
        with self.lock:
            if self.account.spot.market(symbol) is None:
                raise invalid_symbol()
            self.account.spot.set_price(symbol, price)
            self._match_resting(Segment.SPOT, symbol, price)

    def set_funding_rate(self, symbol: str, rate: Decimal) -> None:
        with self.lock:
            self.funding_rates[symbol] = rate

    def apply_funding(self, at: datetime | None = None) -> tuple[FundingPayment, ...]:
        with self.lock:
            payments = self.account.apply_funding(self.funding_rates, at or self.clock())
            self.funding_history.extend(payments)
            balance = self._quote_balance() - sum((p.amount for p in payments), Decimal(0))
            for p in payments:
                balance += p.amount
                self.carry.book(
                    "funding",
                    p.symbol,
                    p.at,
                    amount=p.amount,
                    rate=p.rate,
                    notional=abs(p.position_size * p.mark),
                    side="Buy" if p.position_size > 0 else "Sell",
                    size=abs(p.position_size),
                    balance=balance,
                )
            return payments

    def _quote_balance(self) -> Decimal:
        """The quote the account holds (futures wallet and spot), negative when borrowed."""
        return self.account.wallet_balance + self.account.spot.balance(self.account.quote).total

    def settle_due(self) -> None:
        """Pay every funding time, and charge every hour's interest, the clock has passed."""
        with self.lock:
            now = self.clock()
            book = self.carry
            while book.funded_until + FUNDING_INTERVAL <= now:
                book.funded_until += FUNDING_INTERVAL
                self.apply_funding(book.funded_until)
            while book.interest_until + INTEREST_INTERVAL <= now:
                book.interest_until += INTEREST_INTERVAL
                self._charge_interest(book.interest_until)

    def _charge_interest(self, at: datetime) -> None:
        rate = self.carry.borrow_rate
        quote = self.account.quote
        borrowed = -self._quote_balance()
        if rate is None or borrowed <= 0:
            return
        hourly = rate / HOURS_A_YEAR
        interest = (borrowed * hourly).quantize(Decimal("0.00000001"))
        if interest <= 0:
            return
        self.account.credit_futures(-interest)
        self.carry.book(
            "interest",
            quote,
            at,
            amount=-interest,
            rate=hourly,
            notional=borrowed,
            balance=self._quote_balance(),
        )

    # -- futures orders -------------------------------------------------------------------------

    def place_futures_order(self, req: OrderRequest) -> Order:
        with self.lock:
            spec = self.account.perp_spec(req.symbol)
            if spec is None:
                raise invalid_symbol()
            client_id = self._client_id(req, Segment.FUTURES)
            if self.dual_side_position != (req.position_side not in (None, "BOTH")):
                raise BinanceError(-4061, "Order's position side does not match user's setting.")
            if req.qty is None:
                raise bad_param("quantity")
            mark = self.account.mark(req.symbol) or Decimal(0)
            self._check_futures(req, req.qty, spec.min_notional)
            order = self._new_order(Segment.FUTURES, req, client_id, req.qty)
            if req.type is OrderType.MARKET:
                order = self._fill_futures_taker(
                    order, self.account.slippage.fill_price(mark, req.side)
                )
            else:
                order = self._admit_limit(order, mark)
            self.store.save(order)
            return order

    def _check_futures(self, req: OrderRequest, qty: Decimal, min_notional: Decimal) -> None:
        rejection = self.account.check_perp_order(
            req.symbol, req.side, qty, reduce_only=req.reduce_only
        )
        if rejection is not None:
            raise futures_rejection(rejection, format(min_notional.normalize(), "f"))

    def _fill_futures_taker(self, order: Order, price: Decimal) -> Order:
        result = self.account.execute(
            order.symbol,
            order.side,
            order.qty,
            price,
            at=self.clock(),
            liquidity=Liquidity.TAKER,
            reduce_only=order.reduce_only,
        )
        if isinstance(result, Rejection):
            raise futures_rejection(result)
        return self._record_fill(order, result)

    def _record_fill(self, order: Order, fill: Fill | SpotFill, *, maker: bool = False) -> Order:
        now = self.now_ms()
        realized = fill.realized_pnl if isinstance(fill, Fill) else Decimal(0)
        asset = fill.fee_asset if isinstance(fill, SpotFill) else self.account.quote
        self.store.record_trade(
            Trade(
                segment=order.segment,
                trade_id=self.store.new_trade_id(),
                order_id=order.order_id,
                symbol=order.symbol,
                side=order.side,
                price=fill.price,
                qty=fill.qty,
                commission=fill.fee,
                commission_asset=asset,
                realized_pnl=realized,
                maker=maker,
                time_ms=now,
            )
        )
        return replace(
            order,
            status=OrderStatus.FILLED,
            executed_qty=order.executed_qty + fill.qty,
            cum_quote=order.cum_quote + fill.qty * fill.price,
            updated_ms=now,
        )

    # -- spot orders ----------------------------------------------------------------------------

    def place_spot_order(self, req: OrderRequest, *, unit: str = "") -> Order:
        """A spot order; `unit` is what a dialect's request said the size is in (kept on the
        order for its answers). On a unified account a market buy spends the one quote balance
        (never below zero: nothing is borrowed) and a sale credits it."""
        with self.lock:
            spec = self.account.spot.market(req.symbol)
            if spec is None:
                raise invalid_symbol()
            client_id = self._client_id(req, Segment.SPOT)
            price = self.account.spot.price(req.symbol) or Decimal(0)
            qty = req.qty
            if qty is None and req.quote_qty is not None and req.type is OrderType.MARKET:
                fill_price = self.account.slippage.fill_price(price, req.side)
                qty = (req.quote_qty / fill_price).quantize(spec.step_size, rounding=ROUND_DOWN)
            if qty is None:
                raise bad_param("quantity")
            order = replace(
                self._new_order(Segment.SPOT, req, client_id, qty),
                unit=unit,
                requested=req.qty if req.qty is not None else req.quote_qty,
            )
            if req.type is OrderType.MARKET:
                moved = self._fund_unified_buy(spec.quote, req.side, qty, price)
                result = self.account.spot_market_order(req.symbol, req.side, qty, at=self.clock())
                if isinstance(result, Rejection):
                    self._unfund(spec.quote, moved)
                    raise spot_rejection(result)
                order = self._record_fill(order, result)
            else:
                order = self._admit_limit(order, price)
            self.store.save(order)
            return order

    def _fund_unified_buy(self, quote: str, side: Side, qty: Decimal, price: Decimal) -> Decimal:
        """A unified account holds its quote in one balance (the sim keeps most of it in the
        futures wallet): move what a market buy pays into the spot book, if the balance has it
        (otherwise the buy is refused for insufficient balance). Returns what was moved."""
        account = self.account
        if not account.unified or side is not Side.BUY or quote != account.quote:
            return Decimal(0)
        cost = qty * account.slippage.fill_price(price, side)
        short = cost - account.spot.balance(quote).free
        if short <= 0 or account.wallet_balance < short:
            return Decimal(0)
        account.credit_futures(-short)
        account.spot.credit(quote, short)
        return short

    def _unfund(self, quote: str, moved: Decimal) -> None:
        if moved > 0 and self.account.spot.debit_free(quote, moved) is None:
            self.account.credit_futures(moved)

    # -- limit orders ---------------------------------------------------------------------------

    def _admit_limit(self, order: Order, price: Decimal) -> Order:
        if order.price <= 0:
            raise bad_param("price")
        if order.time_in_force not in ("GTC", "IOC", "FOK", "GTX"):
            raise BinanceError(-1115, "Invalid timeInForce.")
        if _crosses(order.side, order.price, price):
            if order.time_in_force == "GTX":
                # Post-only that would take: Binance expires it instead of trading.
                return replace(order, status=OrderStatus.EXPIRED)
            taker = self.account.slippage.fill_price(price, order.side)
            taker = min(taker, order.price) if order.side is Side.BUY else max(taker, order.price)
            if order.segment is Segment.FUTURES:
                return self._fill_futures_taker(order, taker)
            return self._fill_spot(order, taker, Liquidity.TAKER, from_locked=False)
        if order.time_in_force in ("IOC", "FOK"):
            return replace(order, status=OrderStatus.EXPIRED)
        if order.segment is Segment.SPOT:
            self._lock_spot(order)
        return order

    def _lock_spot(self, order: Order) -> None:
        spec = self.account.spot.market(order.symbol)
        assert spec is not None  # noqa: S101 - the caller resolved the market
        asset, amount = (
            (spec.quote, order.qty * order.price)
            if order.side is Side.BUY
            else (spec.base, order.qty)
        )
        rejection = self.account.spot.lock(asset, amount)
        if rejection is not None:
            raise spot_rejection(rejection)

    def _unlock_spot(self, order: Order) -> None:
        spec = self.account.spot.market(order.symbol)
        if spec is None:
            return
        remaining = order.qty - order.executed_qty
        if order.side is Side.BUY:
            self.account.spot.unlock(spec.quote, remaining * order.price)
        else:
            self.account.spot.unlock(spec.base, remaining)

    def _fill_spot(
        self, order: Order, price: Decimal, liquidity: Liquidity, *, from_locked: bool
    ) -> Order:
        spec = self.account.spot.market(order.symbol)
        assert spec is not None  # noqa: S101 - the caller resolved the market
        result = self.account.spot.execute(
            spec,
            order.side,
            order.qty,
            price,
            at=self.clock(),
            liquidity=liquidity,
            from_locked=from_locked,
        )
        if isinstance(result, Rejection):
            raise spot_rejection(result)
        return self._record_fill(order, result, maker=liquidity is Liquidity.MAKER)

    def _match_resting(self, segment: Segment, symbol: str, price: Decimal) -> None:
        """Fill resting limit orders the new price reached, as maker at their limit price."""
        for order in self.store.open_orders(segment, symbol):
            if not _crosses(order.side, order.price, price):
                continue
            try:
                if segment is Segment.SPOT:
                    filled = self._fill_spot(order, order.price, Liquidity.MAKER, from_locked=True)
                else:
                    result = self.account.execute(
                        symbol,
                        order.side,
                        order.qty,
                        order.price,
                        at=self.clock(),
                        liquidity=Liquidity.MAKER,
                        reduce_only=order.reduce_only,
                    )
                    if isinstance(result, Rejection):
                        raise futures_rejection(result)
                    filled = self._record_fill(order, result, maker=True)
            except BinanceError:
                if segment is Segment.SPOT:
                    self._unlock_spot(order)
                filled = replace(order, status=OrderStatus.EXPIRED, updated_ms=self.now_ms())
            self.store.save(filled)

    # -- queries and cancels --------------------------------------------------------------------

    def get_order(
        self, segment: Segment, symbol: str, order_id: int | None, client_id: str | None
    ) -> Order:
        with self.lock:
            order = self.store.find(segment, symbol, order_id=order_id, client_order_id=client_id)
            if order is None:
                raise order_not_found()
            return order

    def cancel_order(
        self, segment: Segment, symbol: str, order_id: int | None, client_id: str | None
    ) -> Order:
        with self.lock:
            order = self.store.find(segment, symbol, order_id=order_id, client_order_id=client_id)
            if order is None or not order.status.is_open:
                raise unknown_order()
            if segment is Segment.SPOT:
                self._unlock_spot(order)
            cancelled = replace(order, status=OrderStatus.CANCELED, updated_ms=self.now_ms())
            self.store.save(cancelled)
            return cancelled

    def open_orders(self, segment: Segment, symbol: str | None) -> list[Order]:
        with self.lock:
            return self.store.open_orders(segment, symbol)

    def trades(self, segment: Segment, symbol: str) -> list[Trade]:
        with self.lock:
            return self.store.trades(segment, symbol)

    def new_transfer_id(self) -> int:
        with self.lock:
            self._next_transfer_id += 1
            return self._next_transfer_id - 1

    # -- helpers --------------------------------------------------------------------------------

    def _client_id(self, req: OrderRequest, segment: Segment) -> str:
        client_id = req.client_order_id
        if client_id is None:
            return uuid.uuid4().hex[:22]
        if not CLIENT_ORDER_ID.fullmatch(client_id):
            if segment is Segment.FUTURES:
                raise BinanceError(-4015, "Client order id is not valid.")
            raise BinanceError(
                -1100,
                "Illegal characters found in parameter 'newClientOrderId'; legal range is "
                "'^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
            )
        if self.store.has_open_client_id(segment, client_id):
            if segment is Segment.FUTURES:
                raise BinanceError(-4116, "ClientOrderId is duplicated.")
            raise BinanceError(-2010, "Duplicate order sent.")
        return client_id

    def _new_order(
        self, segment: Segment, req: OrderRequest, client_id: str, qty: Decimal
    ) -> Order:
        now = self.now_ms()
        return Order(
            segment=segment,
            order_id=self.store.new_order_id(),
            client_order_id=client_id,
            symbol=req.symbol,
            side=req.side,
            type=req.type,
            time_in_force=req.time_in_force if req.type is OrderType.LIMIT else "GTC",
            qty=qty,
            price=req.price or Decimal(0),
            reduce_only=req.reduce_only,
            status=OrderStatus.NEW,
            executed_qty=Decimal(0),
            cum_quote=Decimal(0),
            created_ms=now,
            updated_ms=now,
        )
