"""Paper trading: the simulated account of `rebalancer.sim` over the exchange's real prices.

Prices come from the exchange's public endpoints (no key); fills, fees, slippage, funding and
liquidation come from the one simulated-account engine. The account lives in the journal
database as a document and is saved after every order and funding settlement, so a restarted
daemon continues where it stopped. Order reports are kept by client id, so recovery can look
paper orders up exactly as it does real ones.

`[paper] account = "unified"` simulates a unified account (DESIGN §2): the coins count as
collateral at `[simulation] haircuts`, the quote may go negative and accrues interest at
`[simulation] borrow_rate` between snapshots, and the snapshot is of kind `UNIFIED` with the
simulated collateral value, so the planner caps the hedges on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from rebalancer.config import Settings
from rebalancer.domain.ledger import CarryEntry, CarryKind, CarryRead, entry_key
from rebalancer.domain.market import MarketRules
from rebalancer.domain.snapshot import AccountKind, PerpState, Snapshot, SpotHolding
from rebalancer.exchange.ccxt_gateway import CcxtGateway
from rebalancer.exchange.port import KeyPermissions, OrderReport, OrderRequest, OrderState
from rebalancer.sim import (
    FUNDING_INTERVALS_HOURS,
    Account,
    FeeSchedule,
    Fill,
    FundingPayment,
    InterestCharge,
    PerpSpec,
    Side,
    SlippageModel,
    SpotFill,
    SpotSpec,
    funding_times,
)
from rebalancer.sim import Rejection as SimRejection

FORMAT = "futures-rebalancer/paper@1"
FUNDING_HOURS = 8  # where the venue does not say its funding interval
FUNDING_EVERY = timedelta(hours=FUNDING_HOURS)
KEPT_ORDERS = 256  # answers kept for lookups by client id; recovery only needs recent ones
Clock = Callable[[], datetime]
CarrySink = Callable[[Sequence[CarryEntry]], object]


class PaperStore(Protocol):
    def load(self, portfolio: str) -> dict[str, Any] | None: ...

    def save(self, portfolio: str, document: dict[str, Any]) -> None: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _last_funding_time(now: datetime) -> datetime:
    """The latest 00:00/08:00/16:00 UTC funding time at or before `now`."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return day + FUNDING_EVERY * ((now - day) // FUNDING_EVERY)


class PaperGateway:
    """`ExchangeGateway` over a simulated account; prices from `public` (no key needed)."""

    def __init__(
        self,
        public: CcxtGateway,
        account: Account,
        store: PaperStore,
        *,
        portfolio: str,
        orders: dict[str, dict[str, Any]],
        funded_until: datetime,
        clock: Clock = _utcnow,
        carry: CarrySink | None = None,
    ) -> None:
        self._public = public
        self._account = account
        self._store = store
        self._portfolio = portfolio
        self._orders = orders
        self._funded_until = funded_until
        self._clock = clock
        self._sizes: dict[str, Decimal] = {}  # contracts -> base units, per perp
        self._carry = carry

    @classmethod
    def open(
        cls,
        settings: Settings,
        public: CcxtGateway,
        store: PaperStore,
        clock: Clock = _utcnow,
        carry: CarrySink | None = None,
    ) -> PaperGateway:
        """The saved paper account, or a new one from the config's `[paper]` holdings;
        `carry` receives each funding payment as it is settled (the carry ledger)."""
        paper = settings.config.paper
        portfolio = settings.config.portfolio.name
        account = Account(
            quote=settings.config.portfolio.quote,
            fees=FeeSchedule(taker_rate=paper.taker_fee, maker_rate=paper.taker_fee),
            slippage=SlippageModel(paper.slippage_bps),
        )
        if paper.account == "unified":
            account.haircuts.update(settings.config.simulation.haircuts)
            account.borrow_rate = settings.config.simulation.borrow_rate
        document = store.load(portfolio)
        if document is None:
            for asset, quantity in paper.spot.items():
                account.spot.credit(asset, quantity)
            account.credit_futures(paper.futures_wallet)
            return cls(
                public,
                account,
                store,
                portfolio=portfolio,
                orders={},
                funded_until=_last_funding_time(clock()),
                clock=clock,
                carry=carry,
            )
        if document.get("format") != FORMAT:
            raise ValueError(f"paper account of {portfolio} has an unknown format")
        for asset, quantity in document["spot"].items():
            account.spot.credit(asset, Decimal(str(quantity)))
        account.credit_futures(Decimal(str(document["wallet"])))
        for symbol, pos in document["positions"].items():
            account.restore_position(symbol, Decimal(str(pos["size"])), Decimal(str(pos["cost"])))
        funded = datetime.fromisoformat(str(document["funded_until"]))
        if document.get("interest_since"):
            account.resume_interest(datetime.fromisoformat(str(document["interest_since"])))
        return cls(
            public,
            account,
            store,
            portfolio=portfolio,
            orders=dict(document["orders"]),
            funded_until=funded,
            clock=clock,
            carry=carry,
        )

    @property
    def exchange_id(self) -> str:
        return f"paper:{self._public.exchange_id}"

    async def markets(self) -> Mapping[str, MarketRules]:
        return await self._public.markets()

    def client_id(self, run_id: str, leg: int) -> str:
        return self._public.client_id(run_id, leg)  # the venue's form, as live would send

    # -- reads ----------------------------------------------------------------------------

    async def snapshot(
        self, assets: Sequence[str], instruments: Sequence[str], off_exchange: Mapping[str, Decimal]
    ) -> Snapshot:
        board = await self._public.prices()
        positions = {p.symbol: p.size for p in self._account.positions()}
        perps = board.perps(instruments, positions)
        for symbol, perp in perps.items():
            self._register(symbol, perp.rules)
            self._account.set_mark(symbol, perp.mark)
        if self._account.unified:
            for asset in assets:
                self._spot_price(asset, board.spot_price(asset, perps))
            starts = self._account.interest_since is None
            charge = self._account.accrue_interest(self._clock())
            if charge is not None:  # the ledger first, as for funding
                self._journal_carry([_interest_entry(charge)])
            if charge is not None or starts:
                self._save()
        self._settle_funding(
            {s: board.funding_rate(s) for s in perps},
            {s: board.funding_interval(s) for s in perps},
        )
        if self._account.is_liquidatable():
            self._account.liquidate(self._clock())
            self._save()
            perps = board.perps(instruments, {p.symbol: p.size for p in self._account.positions()})
        quote = board.quote
        holdings = {
            asset: SpotHolding(
                asset,
                board.spot_price(asset, perps),
                self._account.balance(asset).free + self._account.balance(asset).locked,
                off_exchange.get(asset, Decimal(0)),
            )
            for asset in assets
        }
        if self._account.unified:
            return self._unified(quote, holdings, perps)
        cash = self._account.balance(quote).free
        return Snapshot(self._clock(), quote, cash, self._account.margin_balance(), holdings, perps)

    def _unified(
        self, quote: str, holdings: Mapping[str, SpotHolding], perps: Mapping[str, PerpState]
    ) -> Snapshot:
        """One account: the signed quote balance, the perps' unsettled PnL, and the simulated
        collateral value (what Bybit reports as totalMarginBalance)."""
        account = self._account
        return Snapshot(
            self._clock(),
            quote,
            account.quote_balance(),
            account.unrealized_pnl(),
            holdings,
            perps,
            kind=AccountKind.UNIFIED,
            collateral_value=account.collateral_value(),
            maintenance_margin=account.maintenance_margin(),
        )

    def _spot_price(self, asset: str, price: Decimal) -> None:
        """Unified: the coins' prices, so that their collateral value follows the market."""
        quote = self._account.quote
        symbol = f"{asset}{quote}"
        if self._account.spot.market(symbol) is None:
            zero = Decimal(0)
            self._account.add_spot(SpotSpec(symbol, asset, quote, zero, zero, zero))
        self._account.spot.set_price(symbol, price)

    async def refresh_positions(self, previous: Snapshot) -> Snapshot:
        perps = {
            symbol: PerpState(
                perp.rules, perp.mark, self._account.position(symbol).size, perp.funding_rate
            )
            for symbol, perp in previous.perps.items()
        }
        if self._account.unified:
            return self._unified(previous.quote, previous.spot, perps)
        return Snapshot(
            self._clock(),
            previous.quote,
            previous.cash,
            self._account.margin_balance(),
            previous.spot,
            perps,
        )

    # -- orders ---------------------------------------------------------------------------

    async def prepare(self, instruments: Sequence[str], margin_mode: str) -> list[str]:
        changes = []
        for symbol in instruments:
            if self._account.leverage(symbol) != 1:
                self._account.set_leverage(symbol, 1)
                changes.append(f"{symbol}: leverage -> 1")
        del margin_mode  # the simulated account is cross-margined
        return changes

    async def place(self, orders: Sequence[OrderRequest]) -> list[OrderReport]:
        reports = []
        for order in orders:
            reports.append(self._fill(order))
            self._save()  # each answer is durable before the next order
        return reports

    def _fill(self, order: OrderRequest) -> OrderReport:
        if order.client_id in self._orders:
            return _report(self._orders[order.client_id])
        spec = self._account.perp_spec(order.instrument)
        if spec is None:
            raise ValueError(f"paper: {order.instrument} has no price yet; snapshot first")
        quantity = order.amount * self._contract_size(order.instrument)
        side = Side.BUY if order.side.value == "buy" else Side.SELL
        result = self._account.market_order(
            order.instrument, side, quantity, at=self._clock(), reduce_only=order.reduce_only
        )
        if isinstance(result, Fill):
            report = OrderReport(
                order.client_id,
                order.instrument,
                OrderState.FILLED,
                exchange_id=f"paper-{len(self._orders) + 1}",
                filled=order.amount,
                average_price=result.price,
                fee=result.fee,
                fee_currency=self._account.quote,
            )
        else:
            report = OrderReport(
                order.client_id,
                order.instrument,
                OrderState.REJECTED,
                error=f"{result.reason.value}: {result.detail}",
            )
        self._keep(order.client_id, report)
        return report

    @property
    def spot_orders(self) -> bool:
        return True  # the simulated account trades spot on every venue

    async def spot_rules(self, assets: Sequence[str]) -> Mapping[str, MarketRules | None]:
        return await self._public.spot_rules(assets)

    async def place_spot(self, order: OrderRequest) -> OrderReport:
        """A spot market order in the simulated account, at the venue's spot price now, within
        its spot market's step and minimums (fee as Binance charges it: in the asset got)."""
        if order.client_id in self._orders:
            return _report(self._orders[order.client_id])
        base, _, quote = order.instrument.partition("/")
        rules = (await self._public.spot_rules([base])).get(base)
        if rules is None:
            report = OrderReport(
                order.client_id,
                order.instrument,
                OrderState.REJECTED,
                error=f"no spot market {order.instrument} on {self._public.exchange_id}",
            )
        else:
            price = (await self._public.prices()).spot_price(base, {})
            symbol = f"{base}{quote}"
            self._account.add_spot(
                SpotSpec(
                    symbol, base, quote, rules.amount_step, rules.min_amount, rules.min_notional
                )
            )
            self._account.spot.set_price(symbol, price)
            side = Side.BUY if order.side.value == "buy" else Side.SELL
            result = self._account.spot_market_order(symbol, side, order.amount, at=self._clock())
            report = self._spot_report(order, result)
        self._keep(order.client_id, report)
        self._save()
        return report

    def _spot_report(self, order: OrderRequest, result: SpotFill | SimRejection) -> OrderReport:
        if isinstance(result, SpotFill):
            return OrderReport(
                order.client_id,
                order.instrument,
                OrderState.FILLED,
                exchange_id=f"paper-{len(self._orders) + 1}",
                filled=result.qty,
                average_price=result.price,
                fee=result.fee,
                fee_currency=result.fee_asset,
            )
        return OrderReport(
            order.client_id,
            order.instrument,
            OrderState.REJECTED,
            error=f"{result.reason.value}: {result.detail}",
        )

    def _keep(self, client_id: str, report: OrderReport) -> None:
        self._orders[client_id] = _document_of(report)
        while len(self._orders) > KEPT_ORDERS:  # dicts keep insertion order: oldest first
            del self._orders[next(iter(self._orders))]

    async def lookup(self, instrument: str, client_id: str) -> OrderReport | None:
        saved = self._orders.get(client_id)
        return None if saved is None else _report(saved)

    async def lookup_patiently(self, instrument: str, client_id: str) -> OrderReport | None:
        return await self.lookup(instrument, client_id)

    async def top_up_futures(self, most: Decimal) -> Decimal:
        amount = min(most, self._account.balance(self._account.quote).free)
        if amount <= 0 or self._account.transfer_to_futures(amount) is not None:
            return Decimal(0)
        self._save()
        return amount

    async def key_permissions(self) -> KeyPermissions | None:
        return None

    async def read_carry(self, since: datetime, until: datetime) -> CarryRead:
        return CarryRead(())  # written to the ledger as settled, by `_settle_funding`

    async def close(self) -> None:
        await self._public.close()

    # -- state ----------------------------------------------------------------------------

    def _register(self, symbol: str, rules: MarketRules) -> None:
        if self._account.perp_spec(symbol) is None:
            base, _, quote = symbol.partition("/")
            self._account.add_perp(
                PerpSpec(
                    symbol=symbol,
                    base=base,
                    quote=quote.split(":")[0],
                    step_size=rules.base_step,
                    min_qty=rules.min_amount * rules.contract_size,
                    min_notional=rules.min_notional,
                )
            )
            self._sizes[symbol] = rules.contract_size

    def _contract_size(self, symbol: str) -> Decimal:
        return self._sizes.get(symbol, Decimal(1))

    def _settle_funding(
        self, rates: Mapping[str, Decimal | None], intervals: Mapping[str, int | None]
    ) -> None:
        """Every funding time of each perp passed since the last settlement, at the current
        rate: on the venue's interval for it where it says (1, 2, 4 or 8 h), else every 8 h."""
        now = self._clock()
        due: list[tuple[datetime, str, Decimal]] = []
        for symbol, rate in rates.items():
            if rate is None:
                continue
            hours = intervals.get(symbol)
            hours = hours if hours in FUNDING_INTERVALS_HOURS else FUNDING_HOURS
            due += [(t, symbol, rate) for t in funding_times(hours, self._funded_until, now)]
        payments: list[FundingPayment] = []
        for at, symbol, rate in sorted(due):
            payments += self._account.apply_funding({symbol: rate}, at)
        # The ledger first: if saving the account fails, the same times settle again on restart
        # and the ledger, keyed by instrument and time, keeps one row each.
        self._journal_carry([_entry(p) for p in payments])
        if now > self._funded_until:
            self._funded_until = now
            if due:
                self._save()

    def _journal_carry(self, entries: list[CarryEntry]) -> None:
        if entries and self._carry is not None:
            self._carry(entries)

    def _save(self) -> None:
        since = self._account.interest_since
        self._store.save(
            self._portfolio,
            {
                "format": FORMAT,
                "spot": {b.asset: str(b.free + b.locked) for b in self._account.spot.balances()},
                "wallet": str(self._account.wallet_balance),
                "positions": {
                    p.symbol: {"size": str(p.size), "cost": str(p.cost)}
                    for p in self._account.positions()
                },
                "orders": self._orders,
                "funded_until": self._funded_until.isoformat(),
                "interest_since": (None if since is None else since.isoformat()),
            },
        )


def _document_of(report: OrderReport) -> dict[str, Any]:
    return {
        k: (str(v) if isinstance(v, Decimal) else v.value if isinstance(v, OrderState) else v)
        for k, v in asdict(report).items()
    }


def _report(saved: Mapping[str, Any]) -> OrderReport:
    def dec(key: str) -> Decimal | None:
        value = saved.get(key)
        return None if value is None else Decimal(str(value))

    return OrderReport(
        client_id=str(saved["client_id"]),
        instrument=str(saved["instrument"]),
        state=OrderState(saved["state"]),
        exchange_id=saved.get("exchange_id"),
        filled=dec("filled") or Decimal(0),
        average_price=dec("average_price"),
        fee=dec("fee"),
        fee_currency=saved.get("fee_currency"),
        error=saved.get("error"),
    )


def _interest_entry(charge: InterestCharge) -> CarryEntry:
    """A charge is a debit: the ledger's amounts are signed as the account sees them."""
    return CarryEntry(
        kind=CarryKind.INTEREST,
        key=entry_key(charge.asset, charge.end),
        at=charge.end,
        subject=charge.asset,
        amount=-charge.amount,
        source="paper",
        rate=charge.annual_rate,
        notional=charge.borrowed,
    )


def _entry(payment: FundingPayment) -> CarryEntry:
    return CarryEntry(
        kind=CarryKind.FUNDING,
        key=entry_key(payment.symbol, payment.at),
        at=payment.at,
        subject=payment.symbol,
        amount=payment.amount,
        source="paper",
        rate=payment.rate,
        notional=abs(payment.position_size * payment.mark),
    )
