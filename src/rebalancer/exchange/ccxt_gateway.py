"""The exchange gateway over ccxt: what is common to every venue, written once.

What differs per venue (which calls read the account, how orders are sent and looked up, what
a position row looks like) is the venue's dialect (`rebalancer.exchange.venues`); this module
drives it. Reads of a snapshot run concurrently with the fewest calls the venue allows (plus
the account's own fee rate per perp on the first snapshot) and are retried on transient
failures. Orders are never retried: an ambiguous or unreadable answer is resolved by looking
the order up by client id, allowing for the exchange's lag, and an order that cannot be
confirmed is reported UNKNOWN rather than sent again; no exception leaves `place()` once a
request may have been sent. An answer about another client id is never taken as ours, and a
hedge-mode (long/short) account is refused when read. ccxt's dicts and floats stop here;
callers get domain values in `Decimal`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog

from rebalancer.domain.ledger import CarryRead
from rebalancer.domain.market import MarketRules
from rebalancer.domain.snapshot import PerpState, Snapshot, SpotHolding
from rebalancer.exchange.ccxt_client import LAST_ANSWER
from rebalancer.exchange.errors import (
    AmbiguousOutcome,
    ExchangeFailure,
    MalformedResponse,
    NoChangeNeeded,
    OrderNotFound,
    classify,
)
from rebalancer.exchange.parse import (
    is_linear_perp,
    is_quote_linear_perp,
    mapping,
    market_rules,
    number,
    order_report,
)
from rebalancer.exchange.port import (
    KeyPermissions,
    OrderReport,
    OrderRequest,
    OrderState,
    is_spot,
    spot_symbol,
)
from rebalancer.exchange.retry import RetryPolicy, retry_reads
from rebalancer.exchange.venues import Dialect, Rejection, dialect_for

Clock = Callable[[], datetime]
log = structlog.get_logger(__name__)
LOOKUP_DELAYS = (0.0, 0.25, 0.5, 1.0, 2.0)  # seconds before each lookup of an unknown order
RECHECK_AFTER = timedelta(hours=24)  # fee tier and account mode are read again daily
_NEVER = datetime.min.replace(tzinfo=UTC)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CcxtGateway:
    """`ExchangeGateway` for the ccxt exchanges that have a venue dialect."""

    def __init__(
        self,
        client: Any,
        *,
        quote: str,
        policy: RetryPolicy | None = None,
        clock: Clock = _utcnow,
        lookup_delays: Sequence[float] = LOOKUP_DELAYS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        dialect: Dialect | None = None,
    ) -> None:
        self._client = client
        self._dialect = dialect or dialect_for(str(client.id))
        self._quote = quote
        self._policy = policy or RetryPolicy()
        self._clock = clock
        self._lookup_delays = tuple(lookup_delays)
        self._sleep = sleep
        self._raw_markets: dict[str, Mapping[str, Any]] | None = None  # the quote's perps
        self._linear: dict[str, Mapping[str, Any]] = {}  # every linear perp, any settle coin
        self._rules: dict[str, MarketRules] = {}
        self._ids: dict[str, str] = {}  # exchange market id -> unified perp symbol
        self._prepared: set[str] = set()
        self._taker_fees: dict[str, Decimal] = {}  # the account's own rates
        self._fees_read: dict[str, datetime] = {}
        self._mode_checked = _NEVER

    @property
    def exchange_id(self) -> str:
        return str(self._client.id)

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    @property
    def client(self) -> Any:
        return self._client

    @property
    def quote(self) -> str:
        return self._quote

    @property
    def listed(self) -> frozenset[str]:
        """The quote's linear perps the exchange lists (markets must be loaded)."""
        return frozenset(self._raw_markets or ())

    def client_id(self, run_id: str, leg: int) -> str:
        return self._dialect.client_id(run_id, leg)

    def has_spot_market(self, symbol: str) -> bool:
        return symbol in (self._client.markets or {})

    def symbol_of(self, market_id: str) -> str | None:
        return self._ids.get(market_id)

    async def read(self, name: str, *args: Any) -> Any:
        """Call a ccxt read with bounded retries; failures come out as `ExchangeFailure`."""
        method = getattr(self._client, name)

        async def call(*call_args: Any) -> Any:
            LAST_ANSWER.set(None)
            try:
                return await method(*call_args)
            except ExchangeFailure:
                raise
            except Exception as exc:
                raise self.classified(exc, placing_order=False) from None

        call.__name__ = name
        resync = getattr(self._client, "load_time_difference", None)
        return await retry_reads(self._policy, on_resync_clock=resync, sleep=self._sleep)(call)(
            *args
        )

    # -- markets --------------------------------------------------------------------------

    async def markets(self) -> Mapping[str, MarketRules]:
        raw = await self._load_markets()
        return {symbol: self.rules(symbol) for symbol in raw}

    async def _load_markets(self) -> Mapping[str, Mapping[str, Any]]:
        if self._raw_markets is None:
            loaded = await self.read("load_markets")
            if not isinstance(loaded, Mapping):
                raise MalformedResponse("exchange answer to load_markets is not a mapping")
            # Positions are read on every linear perp (a USDC-settled one counts against the
            # cap too); only the quote's perps are traded.
            self._linear = {s: m for s, m in loaded.items() if is_linear_perp(m)}
            self._raw_markets = {
                s: m for s, m in self._linear.items() if is_quote_linear_perp(m, self._quote)
            }
            self._ids = {str(m.get("id")): s for s, m in self._linear.items()}
        return self._raw_markets

    def rules(self, symbol: str) -> MarketRules:
        """Rules of a loaded perp market (parsed once, checked), at the account's fee rate."""
        if symbol not in self._rules:
            if self._raw_markets is None:
                raise RuntimeError("markets are loaded before rules are read")
            self._rules[symbol] = market_rules(
                self._linear[symbol], int(self._client.precisionMode)
            )
        rules = self._rules[symbol]
        taker = self._taker_fees.get(symbol)
        return rules if taker is None else replace(rules, taker_fee=taker)

    async def _load_fees(self, symbols: Sequence[str]) -> None:
        """The account's taker rate per perp (its fee tier), not the rate ccxt's tables guess;
        read again once a day (tiers follow 30-day volume)."""
        now = self._clock()
        todo = [
            s
            for s in dict.fromkeys(symbols)
            if s in self.listed and now - self._fees_read.get(s, _NEVER) >= RECHECK_AFTER
        ]
        answers = await asyncio.gather(*(self.read("fetch_trading_fee", s) for s in todo))
        for symbol, answer in zip(todo, answers, strict=True):
            fee = mapping(answer, f"trading fee of {symbol}")
            self._taker_fees[symbol] = number(fee.get("taker"), f"trading fee {symbol}.taker")
            self._fees_read[symbol] = now

    # -- snapshot -------------------------------------------------------------------------

    async def snapshot(
        self,
        assets: Sequence[str],
        instruments: Sequence[str],
        off_exchange: Mapping[str, Decimal],
    ) -> Snapshot:
        await self._load_markets()
        account, (marks, prices), _, _ = await asyncio.gather(
            self._dialect.account(self, [*assets, self._quote]),
            self._dialect.public_prices(self),
            self._load_fees(instruments),
            self._check_account_mode(),
        )
        positions = account.futures.positions
        await self._load_fees(list(positions))  # a held perp outside the config: once
        board = PriceBoard(self, marks, prices)
        perps = board.perps(instruments, positions)
        holdings = {
            asset: SpotHolding(
                asset,
                board.spot_price(asset, perps),
                account.balances[asset],
                off_exchange.get(asset, Decimal(0)),
            )
            for asset in assets
        }
        cash = account.balances[self._quote]
        futures = account.futures
        return Snapshot(
            self._clock(),
            self._quote,
            cash,
            futures.equity,
            holdings,
            perps,
            kind=account.kind,
            collateral_value=futures.collateral_value,
            maintenance_margin=futures.maintenance_margin,
        )

    async def _check_account_mode(self) -> None:
        """The venue's account-mode check, once a day (dry-run included: it reads only)."""
        now = self._clock()
        if now - self._mode_checked >= RECHECK_AFTER:
            await self._dialect.check_account_mode(self)
            self._mode_checked = now

    async def prices(self) -> PriceBoard:
        """Public prices only (marks with funding rates, spot last prices): no key needed."""
        await self._load_markets()
        marks, prices = await self._dialect.public_prices(self)
        return PriceBoard(self, marks, prices)

    async def refresh_positions(self, previous: Snapshot) -> Snapshot:
        futures = await self._dialect.futures_account(self)
        perps = dict(previous.perps)
        stray = sorted(set(futures.positions) - set(perps))
        if stray:  # opened by someone else meanwhile; the next full snapshot will include it
            log.warning("positions_appeared", symbols=stray)
        for symbol, perp in perps.items():
            perps[symbol] = replace(perp, position=futures.positions.get(symbol, Decimal(0)))
        return replace(
            previous,
            taken_at=self._clock(),
            # Unified: fees and settled PnL move the quote balance itself.
            cash=previous.cash if futures.cash is None else futures.cash,
            futures_equity=futures.equity,
            collateral_value=futures.collateral_value,
            maintenance_margin=futures.maintenance_margin,
            perps=perps,
        )

    # -- account settings -----------------------------------------------------------------

    async def prepare(self, instruments: Sequence[str], margin_mode: str) -> list[str]:
        """Leverage 1x and `margin_mode` on each instrument, changed only where needed."""
        todo = [s for s in instruments if s not in self._prepared]
        if not todo:
            return []
        await self._load_markets()
        await self._dialect.check_position_mode(self)
        changes = await self._dialect.prepare(self, todo, margin_mode)
        self._prepared.update(todo)
        return changes

    async def setting(self, name: str, *args: Any) -> None:
        """A settings call whose "already so" answer is exactly what we wanted."""
        with contextlib.suppress(NoChangeNeeded):
            await self.read(name, *args)

    # -- orders ---------------------------------------------------------------------------

    async def place(self, orders: Sequence[OrderRequest]) -> list[OrderReport]:
        """Send market orders in the venue's batches, the batches concurrently.

        Once a request may have left, nothing raises: each order comes back filled, open,
        rejected or unknown, an unreadable answer being resolved by lookup like a lost one.
        """
        await self._load_markets()
        batches = self._dialect.batches(self, orders)
        results = await asyncio.gather(*(self._send_safely(b) for b in batches))
        return [report for batch in results for report in batch]

    async def _send_safely(self, batch: Sequence[OrderRequest]) -> list[OrderReport]:
        try:
            return await self._send(batch)
        except Exception as exc:  # after sending, every failure is ambiguous
            return await self._after_failure(batch, _unreadable(exc))

    async def _send(self, batch: Sequence[OrderRequest]) -> list[OrderReport]:
        try:
            raw = await self._dialect.send(self, batch)
        except Exception as exc:
            return await self._after_failure(batch, self.classified(exc, placing_order=True))
        if len(raw) != len(batch):
            failure = MalformedResponse("batch order answer does not match the request")
            return await self._after_failure(batch, AmbiguousOutcome(failure.message))
        return list(
            await asyncio.gather(*(self._answered(o, i) for o, i in zip(batch, raw, strict=True)))
        )

    async def _answered(self, order: OrderRequest, item: object) -> OrderReport:
        """One order's report from its item of a placement answer, looked up if unreadable."""
        try:
            parsed = self._dialect.answer(self, order, item)
            if isinstance(parsed, Rejection):
                return OrderReport(
                    order.client_id,
                    order.instrument,
                    OrderState.REJECTED,
                    error_code=parsed.code,
                    error=parsed.message,
                )
            return await self._settle(order, parsed)
        except Exception as exc:  # the order may be live: find it, never raise
            return await self._resolve(order, _unreadable(exc))

    async def _settle(self, order: OrderRequest, parsed: Mapping[str, Any]) -> OrderReport:
        report = self._with_fee(order_report(parsed, order.instrument, order.client_id))
        if report.state is OrderState.OPEN:
            # A market order acknowledged but not yet reported filled: ask once more. If that
            # fails, the acknowledgement stands: accepted, its fill read from the positions.
            try:
                found = await self.lookup(order.instrument, order.client_id)
            except ExchangeFailure as failure:
                log.warning(
                    "order_lookup_failed",
                    client_order_id=order.client_id,
                    error=f"{type(failure).__name__}: {failure.message}",
                )
                return report
            return found or report
        return report

    async def _after_failure(
        self, batch: Sequence[OrderRequest], failure: ExchangeFailure
    ) -> list[OrderReport]:
        if isinstance(failure, AmbiguousOutcome):
            return list(await asyncio.gather(*(self._resolve(o, failure) for o in batch)))
        # Anything else proves nothing executed (refused, throttled before execution).
        return [
            OrderReport(
                o.client_id,
                o.instrument,
                OrderState.REJECTED,
                error_code=failure.code,
                error=f"{type(failure).__name__}: {failure.message}",
            )
            for o in batch
        ]

    async def _resolve(self, order: OrderRequest, failure: ExchangeFailure) -> OrderReport:
        """An order of unknown outcome, looked up by client id (UNKNOWN if still not found)."""
        try:
            found = await self.lookup_patiently(order.instrument, order.client_id)
        except Exception:  # no usable answer: the outcome stays unknown
            found = None
        if found is not None:
            return found
        return OrderReport(
            order.client_id,
            order.instrument,
            OrderState.UNKNOWN,
            error_code=failure.code,
            error=f"no answer ({failure.message}); not found by client id after "
            f"{sum(self._lookup_delays):g}s",
        )

    async def lookup_patiently(self, instrument: str, client_id: str) -> OrderReport | None:
        """`lookup`, repeated over the lag allowance; None only if never found (or never
        answered: then the caller cannot tell, and must treat the order as unknown)."""
        answered = False
        for delay in self._lookup_delays:
            await self._sleep(delay)
            try:
                found = await self.lookup(instrument, client_id)
            except ExchangeFailure:
                continue
            answered = True
            if found is not None:
                return found
        if not answered:
            raise AmbiguousOutcome(f"no answer to any lookup of {client_id}")
        return None

    async def lookup(self, instrument: str, client_id: str) -> OrderReport | None:
        """The order with this client id; an answer about any other id raises, never counts."""
        await self._load_markets()
        try:
            parsed = await self._dialect.find(self, instrument, client_id)
        except OrderNotFound:
            return None
        found = mapping(parsed, f"order {client_id}")
        return self._with_fee(order_report(found, instrument, client_id))

    def _with_fee(self, report: OrderReport) -> OrderReport:
        if report.fee is not None or not report.filled or report.average_price is None:
            return report
        rules = self._spot_rule(report.instrument) if is_spot(report.instrument) else None
        rules = rules or self.rules(report.instrument)
        fee = report.filled * rules.contract_size * report.average_price * rules.taker_fee
        return replace(report, fee=fee, fee_currency=self._quote, fee_estimated=True)

    # -- spot orders (the roll policy) ----------------------------------------------------

    @property
    def spot_orders(self) -> bool:
        return self._dialect.spot_orders

    async def spot_rules(self, assets: Sequence[str]) -> Mapping[str, MarketRules | None]:
        await self._load_markets()
        return {a: self._spot_rule(spot_symbol(a, self._quote)) for a in assets}

    def _spot_rule(self, symbol: str) -> MarketRules | None:
        market = (self._client.markets or {}).get(symbol)
        if not isinstance(market, Mapping) or not market.get("spot"):
            return None
        if market.get("active", True) is False:
            return None
        return market_rules(market, int(self._client.precisionMode))

    async def place_spot(self, order: OrderRequest) -> OrderReport:
        """One spot market order; never raises once the request may have left (see `place`)."""
        await self._load_markets()
        try:
            raw = await self._dialect.send_spot(self, order)
        except Exception as exc:  # refused before sending, or sent and lost: classified
            known = exc if isinstance(exc, ExchangeFailure) else None
            failure = known or self.classified(exc, placing_order=True)
            return (await self._after_failure([order], failure))[0]
        try:
            # A full answer (Binance) is final; an ack (Bybit, OKX) is looked up for its fill.
            return await self._settle(order, mapping(raw, f"order {order.client_id}"))
        except Exception as exc:  # the order may be live: find it, never raise
            return await self._resolve(order, _unreadable(exc))

    # -- transfers ------------------------------------------------------------------------

    async def top_up_futures(self, most: Decimal) -> Decimal:
        balance = await self.read("fetch_balance", {"type": "spot"})
        free = mapping(balance.get("free"), "spot free balance").get(self._quote) or 0
        amount = min(most, number(free, f"free {self._quote}"))
        if amount <= 0:
            return Decimal(0)
        try:
            await self._dialect.transfer_to_futures(self, amount)
        except Exception as exc:
            raise self.classified(exc, placing_order=True) from None
        return amount

    def classified(self, exc: BaseException, *, placing_order: bool) -> ExchangeFailure:
        """What `exc` means, read with this venue's error codes and the last HTTP answer."""
        answer = LAST_ANSWER.get()
        return classify(
            exc,
            placing_order=placing_order,
            http_status=answer.status if answer else None,
            retry_after=answer.retry_after if answer else None,
            codes=self._dialect.error_codes,
        )

    # -- carry ----------------------------------------------------------------------------

    async def read_carry(self, since: datetime, until: datetime) -> CarryRead:
        await self._load_markets()
        return await self._dialect.carry(self, since, until)

    # -- key ------------------------------------------------------------------------------

    async def key_permissions(self) -> KeyPermissions | None:
        return await self._dialect.key_permissions(self)

    async def close(self) -> None:
        await self._client.close()


def _unreadable(exc: Exception) -> ExchangeFailure:
    """An answer (or a failure) after sending that says nothing sure about the order."""
    if isinstance(exc, AmbiguousOutcome):
        return exc
    if isinstance(exc, ExchangeFailure):
        return AmbiguousOutcome(f"unusable answer after sending: {exc.message}", code=exc.code)
    return AmbiguousOutcome(f"unusable answer after sending: {type(exc).__name__}: {exc}")


def _mark(marks: object, symbol: str) -> Decimal:
    entry = marks.get(symbol) if isinstance(marks, Mapping) else None
    value = entry.get("markPrice") if isinstance(entry, Mapping) else None
    return number(value, f"mark price {symbol}", positive=True)


class PriceBoard:
    """One read of public prices, parsed on demand for the symbols a caller needs."""

    def __init__(self, gateway: CcxtGateway, marks: Any, prices: Any) -> None:
        self._gateway = gateway
        self._marks = marks
        self._prices = prices

    @property
    def quote(self) -> str:
        return self._gateway.quote

    def mark(self, symbol: str) -> Decimal:
        return _mark(self._marks, symbol)

    def funding_rate(self, symbol: str) -> Decimal | None:
        entry = self._marks.get(symbol) if isinstance(self._marks, Mapping) else None
        rate = self._gateway.dialect.funding_rate(entry) if isinstance(entry, Mapping) else None
        return None if rate in (None, "") else number(rate, f"funding rate {symbol}", signed=True)

    def funding_interval(self, symbol: str) -> int | None:
        """Hours between funding payments where the venue says (ccxt's `interval`, e.g. "4h")."""
        entry = self._marks.get(symbol) if isinstance(self._marks, Mapping) else None
        text = entry.get("interval") if isinstance(entry, Mapping) else None
        if not isinstance(text, str) or not text.endswith("h") or not text[:-1].isdigit():
            return None
        return int(text[:-1])

    def perps(
        self, instruments: Sequence[str], positions: Mapping[str, Decimal]
    ) -> dict[str, PerpState]:
        """Perp states for the listed instruments and every held position, with their marks."""
        listed = self._gateway.listed
        held = sorted(s for s, q in positions.items() if q != 0)
        wanted = [s for s in dict.fromkeys([*instruments, *held]) if s in listed or s in held]
        return {
            s: PerpState(
                self._gateway.rules(s),
                self.mark(s),
                positions.get(s, Decimal(0)),
                self.funding_rate(s),
            )
            for s in wanted
        }

    def spot_price(self, asset: str, perps: Mapping[str, PerpState]) -> Decimal:
        symbol = f"{asset}/{self.quote}"
        entry = self._prices.get(symbol) if isinstance(self._prices, Mapping) else None
        if isinstance(entry, Mapping) and entry.get("price") is not None:
            return number(entry.get("price"), f"spot price {symbol}", positive=True)
        if self._gateway.has_spot_market(symbol):
            raise MalformedResponse(f"exchange answer has no spot price for {symbol}")
        perp = perps.get(f"{symbol}:{self.quote}")
        if perp is not None:
            return perp.mark  # no spot market at all: value the holding at the perp's mark
        raise MalformedResponse(f"no spot price for {symbol} on {self._gateway.exchange_id}")
