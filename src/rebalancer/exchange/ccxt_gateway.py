"""The exchange gateway over ccxt: the only module that talks to ccxt's methods.

Reads of a snapshot run concurrently with the fewest calls the exchange allows (on Binance:
spot account, futures account with its positions, all mark prices, all spot prices: four
calls, plus the account's own fee rate per perp on the first snapshot) and are retried on
transient failures. Orders are never retried: an ambiguous or unreadable answer is resolved by
looking the order up by client id, allowing for the exchange's lag, and an order that cannot be
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
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import structlog

from rebalancer.domain.market import MarketRules
from rebalancer.domain.snapshot import PerpState, Snapshot, SpotHolding
from rebalancer.exchange.ccxt_client import LAST_ANSWER
from rebalancer.exchange.errors import (
    AmbiguousOutcome,
    ExchangeFailure,
    MalformedResponse,
    NoChangeNeeded,
    OrderNotFound,
    PermanentError,
    classify,
)
from rebalancer.exchange.parse import (
    is_quote_linear_perp,
    market_rules,
    number,
    order_report,
)
from rebalancer.exchange.port import KeyPermissions, OrderReport, OrderRequest, OrderState
from rebalancer.exchange.retry import RetryPolicy, retry_reads

Clock = Callable[[], datetime]
log = structlog.get_logger(__name__)
BINANCE_IDS = frozenset({"binance", "binanceusdm"})
BINANCE_BATCH = 5
LOOKUP_DELAYS = (0.0, 0.25, 0.5, 1.0, 2.0)  # seconds before each lookup of an unknown order


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CcxtGateway:
    """`ExchangeGateway` for ccxt exchanges with linear perpetuals (Binance first-class)."""

    def __init__(
        self,
        client: Any,
        *,
        quote: str,
        policy: RetryPolicy | None = None,
        clock: Clock = _utcnow,
        lookup_delays: Sequence[float] = LOOKUP_DELAYS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._quote = quote
        self._policy = policy or RetryPolicy()
        self._clock = clock
        self._lookup_delays = tuple(lookup_delays)
        self._sleep = sleep
        self._raw_markets: dict[str, Mapping[str, Any]] | None = None
        self._rules: dict[str, MarketRules] = {}
        self._ids: dict[str, str] = {}  # exchange market id -> unified perp symbol
        self._prepared: set[str] = set()
        self._taker_fees: dict[str, Decimal] = {}  # the account's own rates, read once

    @property
    def exchange_id(self) -> str:
        return str(self._client.id)

    @property
    def quote(self) -> str:
        return self._quote

    @property
    def listed(self) -> frozenset[str]:
        """The quote's linear perps the exchange lists (markets must be loaded)."""
        return frozenset(self._raw_markets or ())

    def has_spot_market(self, symbol: str) -> bool:
        return symbol in (self._client.markets or {})

    @property
    def _binance(self) -> bool:
        return self.exchange_id in BINANCE_IDS

    async def _read(self, name: str, *args: Any) -> Any:
        """Call a ccxt read with bounded retries; failures come out as `ExchangeFailure`."""
        method = getattr(self._client, name)

        async def call(*call_args: Any) -> Any:
            LAST_ANSWER.set(None)
            try:
                return await method(*call_args)
            except ExchangeFailure:
                raise
            except Exception as exc:
                raise _classified(exc, placing_order=False) from None

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
            loaded = await self._read("load_markets")
            if not isinstance(loaded, Mapping):
                raise MalformedResponse("exchange answer to load_markets is not a mapping")
            perps = {s: m for s, m in loaded.items() if is_quote_linear_perp(m, self._quote)}
            self._raw_markets = perps
            self._ids = {str(m.get("id")): s for s, m in perps.items()}
        return self._raw_markets

    def rules(self, symbol: str) -> MarketRules:
        """Rules of a loaded perp market (parsed once, checked)."""
        if symbol not in self._rules:
            if self._raw_markets is None:
                raise RuntimeError("markets are loaded before rules are read")
            self._rules[symbol] = market_rules(
                self._raw_markets[symbol], int(self._client.precisionMode)
            )
        rules = self._rules[symbol]
        taker = self._taker_fees.get(symbol)
        return rules if taker is None else replace(rules, taker_fee=taker)

    async def _load_fees(self, symbols: Sequence[str]) -> None:
        """The account's taker rate per perp (its fee tier), not the rate ccxt's tables guess."""
        todo = [s for s in dict.fromkeys(symbols) if s in self.listed and s not in self._taker_fees]
        answers = await asyncio.gather(*(self._read("fetch_trading_fee", s) for s in todo))
        for symbol, answer in zip(todo, answers, strict=True):
            fee = _mapping(answer, f"trading fee of {symbol}")
            self._taker_fees[symbol] = number(fee.get("taker"), f"trading fee {symbol}.taker")

    # -- snapshot -------------------------------------------------------------------------

    async def snapshot(
        self,
        assets: Sequence[str],
        instruments: Sequence[str],
        off_exchange: Mapping[str, Decimal],
    ) -> Snapshot:
        await self._load_markets()
        spot, (equity, positions), (marks, prices), _ = await asyncio.gather(
            self._read("fetch_balance", {"type": "spot"}),
            self._futures_account(instruments),
            self._public_prices(),
            self._load_fees(instruments),
        )
        await self._load_fees(list(positions))  # a held perp outside the config: once
        # ccxt turns an unparsable answer into an empty balance: insist on the raw account.
        info = _mapping(spot.get("info") if isinstance(spot, Mapping) else None, "spot account")
        if self._binance and not isinstance(info.get("balances"), list):
            raise MalformedResponse("exchange answer has no spot account balances")
        totals = _mapping(spot.get("total"), "spot total")
        quote = PriceBoard(self, marks, prices)
        perps = quote.perps(instruments, positions)
        holdings = {
            asset: SpotHolding(
                asset,
                quote.spot_price(asset, perps),
                number(totals.get(asset) or 0, f"spot balance {asset}"),
                off_exchange.get(asset, Decimal(0)),
            )
            for asset in assets
        }
        cash = number(totals.get(self._quote) or 0, f"spot balance {self._quote}")
        return Snapshot(self._clock(), self._quote, cash, equity, holdings, perps)

    async def prices(self) -> PriceBoard:
        """Public prices only (marks with funding rates, spot last prices): no key needed."""
        await self._load_markets()
        marks, prices = await self._public_prices()
        return PriceBoard(self, marks, prices)

    async def _public_prices(self) -> tuple[Any, Any]:
        marks, prices = await asyncio.gather(
            self._read("fetch_mark_prices"),
            self._read("fetch_last_prices", None, {"type": "spot"}),
        )
        return marks, prices

    async def refresh_positions(self, previous: Snapshot) -> Snapshot:
        equity, positions = await self._futures_account(list(previous.perps))
        perps = dict(previous.perps)
        stray = sorted(set(positions) - set(perps))
        if stray:  # opened by someone else meanwhile; the next full snapshot will include it
            log.warning("positions_appeared", symbols=stray)
        for symbol, perp in perps.items():
            perps[symbol] = replace(perp, position=positions.get(symbol, Decimal(0)))
        return replace(previous, taken_at=self._clock(), futures_equity=equity, perps=perps)

    async def _futures_account(
        self, instruments: Sequence[str]
    ) -> tuple[Decimal, dict[str, Decimal]]:
        """Futures equity F (wallet + unrealized PnL) and signed positions in base units."""
        if self._binance:
            # One call: /fapi/v3/account carries the margin balance and every open position.
            account = await self._read("fetch_balance", {"type": "future"})
            info = _mapping(account.get("info"), "futures account")
            seen: set[str] = set()
            equity = number(info.get("totalMarginBalance"), "totalMarginBalance", signed=True)
            positions: dict[str, Decimal] = {}
            for row in info.get("positions") or []:
                side = row.get("positionSide")
                if side not in (None, "BOTH") or str(row.get("symbol")) in seen:
                    raise _hedge_mode(str(row.get("symbol")))
                seen.add(str(row.get("symbol")))
                symbol = self._ids.get(str(row.get("symbol")))
                if symbol is None:
                    continue
                size = number(
                    row.get("positionAmt"), f"positions[{symbol}].positionAmt", signed=True
                )
                if size:
                    positions[symbol] = size * self.rules(symbol).contract_size
            return equity, positions
        # Elsewhere: wallet balance in the quote plus the positions' unrealized PnL.
        balance, raw_positions = await asyncio.gather(
            self._read("fetch_balance", {"type": "swap"}),
            self._read("fetch_positions", list(instruments) or None),
        )
        wallet = number(
            _mapping(balance.get("total"), "swap total").get(self._quote) or 0,
            f"swap balance {self._quote}",
        )
        positions, unrealized = {}, Decimal(0)
        for row in raw_positions or []:
            symbol = str(row.get("symbol"))
            if row.get("hedged") or symbol in positions:
                raise _hedge_mode(symbol)
            contracts = number(row.get("contracts") or 0, f"positions[{symbol}].contracts")
            sign = -1 if row.get("side") == "short" else 1
            size = (
                sign
                * contracts
                * number(row.get("contractSize") or 1, "contractSize", positive=True)
            )
            if size:
                positions[symbol] = size
            unrealized += number(row.get("unrealizedPnl") or 0, "unrealizedPnl", signed=True)
        return wallet + unrealized, positions

    # -- account settings -----------------------------------------------------------------

    async def prepare(self, instruments: Sequence[str], margin_mode: str) -> list[str]:
        """Leverage 1x and `margin_mode` on each instrument, changed only where needed."""
        todo = [s for s in instruments if s not in self._prepared]
        if not todo:
            return []
        await self._load_markets()
        changes: list[str] = []
        if self._binance:
            mode = await self._read("fetch_position_mode", None)
            if isinstance(mode, Mapping) and mode.get("hedged"):
                raise PermanentError(
                    "the futures account is in hedge (dual-side) position mode; "
                    "switch it to one-way mode before running the bot"
                )
        current = await self._read("fetch_leverages", todo)
        for symbol in todo:
            row = current.get(symbol) if isinstance(current, Mapping) else None
            leverage = row.get("longLeverage") if isinstance(row, Mapping) else None
            margin = row.get("marginMode") if isinstance(row, Mapping) else None
            if leverage is None or int(leverage) != 1:
                await self._setting("set_leverage", 1, symbol)
                changes.append(f"{symbol}: leverage {leverage} -> 1")
            if margin != margin_mode:
                await self._setting("set_margin_mode", margin_mode, symbol)
                changes.append(f"{symbol}: margin {margin} -> {margin_mode}")
            self._prepared.add(symbol)
        return changes

    async def _setting(self, name: str, *args: Any) -> None:
        with contextlib.suppress(NoChangeNeeded):  # already so: exactly what we wanted
            await self._read(name, *args)

    # -- orders ---------------------------------------------------------------------------

    async def place(self, orders: Sequence[OrderRequest]) -> list[OrderReport]:
        """Send market orders; batches of five on Binance, concurrently otherwise.

        Once a request may have left, nothing raises: each order comes back filled, open,
        rejected or unknown, an unreadable answer being resolved by lookup like a lost one.
        """
        await self._load_markets()
        if self._binance:
            batches = [orders[i : i + BINANCE_BATCH] for i in range(0, len(orders), BINANCE_BATCH)]
        else:
            batches = [[o] for o in orders]
        results = await asyncio.gather(*(self._send_safely(b) for b in batches))
        return [report for batch in results for report in batch]

    async def _send_safely(self, batch: Sequence[OrderRequest]) -> list[OrderReport]:
        try:
            if self._binance:
                return await self._send_batch(batch)
            return [await self._send_one(batch[0])]
        except Exception as exc:  # after sending, every failure is ambiguous
            return await self._after_failure(batch, _unreadable(exc))

    def _request(self, order: OrderRequest) -> tuple[str, str, str, str, dict[str, Any]]:
        params: dict[str, Any] = {"clientOrderId": order.client_id}
        if order.reduce_only:
            params["reduceOnly"] = True
        if self._binance:
            params["newOrderRespType"] = "RESULT"  # the fill in the answer, not just an ack
        return order.instrument, "market", order.side.value, str(order.amount), params

    async def _send_batch(self, batch: Sequence[OrderRequest]) -> list[OrderReport]:
        client = self._client
        requests = []
        for order in batch:
            symbol, kind, side, amount, params = self._request(order)
            requests.append(client.create_order_request(symbol, kind, side, amount, None, params))
        try:
            raw = await client.fapiPrivatePostBatchOrders({"batchOrders": requests})
        except Exception as exc:
            return await self._after_failure(batch, _classified(exc, placing_order=True))
        if not isinstance(raw, list) or len(raw) != len(batch):
            failure = MalformedResponse("batch order answer does not match the request")
            return await self._after_failure(batch, AmbiguousOutcome(failure.message))
        return list(
            await asyncio.gather(*(self._answered(o, i) for o, i in zip(batch, raw, strict=True)))
        )

    async def _answered(self, order: OrderRequest, item: object) -> OrderReport:
        """One order's report from its item of a batch answer, looked up if unreadable."""
        try:
            if isinstance(item, Mapping) and "code" in item and "orderId" not in item:
                return _rejected(order, item)
            parsed = self._client.parse_order(item, self._client.market(order.instrument))
            return await self._settle(order, parsed)
        except Exception as exc:  # the order may be live: find it, never raise
            return await self._resolve(order, _unreadable(exc))

    async def _send_one(self, order: OrderRequest) -> OrderReport:
        symbol, kind, side, amount, params = self._request(order)
        try:
            parsed = await self._client.create_order(symbol, kind, side, amount, None, params)
        except Exception as exc:
            (report,) = await self._after_failure([order], _classified(exc, placing_order=True))
            return report
        try:
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
        await self._load_markets()
        try:
            parsed = await self._read(
                "fetch_order", "", instrument, {"origClientOrderId": client_id}
            )
        except OrderNotFound:
            return None
        return self._with_fee(order_report(parsed, instrument, client_id))

    def _with_fee(self, report: OrderReport) -> OrderReport:
        if report.fee is not None or not report.filled or report.average_price is None:
            return report
        rules = self.rules(report.instrument)
        fee = report.filled * rules.contract_size * report.average_price * rules.taker_fee
        return _replace_fee(report, fee, self._quote)

    # -- transfers ------------------------------------------------------------------------

    async def top_up_futures(self, most: Decimal) -> Decimal:
        balance = await self._read("fetch_balance", {"type": "spot"})
        free = _mapping(balance.get("free"), "spot free balance").get(self._quote) or 0
        amount = min(most, number(free, f"free {self._quote}"))
        if amount <= 0:
            return Decimal(0)
        try:
            await self._client.transfer(self._quote, str(amount), "spot", "swap")
        except Exception as exc:
            raise _classified(exc, placing_order=True) from None
        return amount

    # -- key ------------------------------------------------------------------------------

    async def key_permissions(self) -> KeyPermissions | None:
        if not self._binance:
            return None
        raw = await self._read("sapi_get_account_apirestrictions")
        if not isinstance(raw, Mapping):
            raise MalformedResponse("apiRestrictions answer is not a mapping")
        return KeyPermissions(
            can_trade=bool(raw.get("enableSpotAndMarginTrading") or raw.get("enableFutures")),
            can_withdraw=bool(raw.get("enableWithdrawals")),
            can_trade_futures=bool(raw.get("enableFutures")),
        )

    async def close(self) -> None:
        await self._client.close()


def _classified(exc: BaseException, *, placing_order: bool) -> ExchangeFailure:
    answer = LAST_ANSWER.get()
    return classify(
        exc,
        placing_order=placing_order,
        http_status=answer.status if answer else None,
        retry_after=answer.retry_after if answer else None,
    )


def _hedge_mode(symbol: str) -> PermanentError:
    # Long and short rows of one symbol cannot be netted into one hedge without guessing.
    return PermanentError(
        f"the futures account is in hedge (long/short) position mode ({symbol} has per-side "
        "rows); switch it to one-way mode before running the bot"
    )


def _unreadable(exc: Exception) -> ExchangeFailure:
    """An answer (or a failure) after sending that says nothing sure about the order."""
    if isinstance(exc, AmbiguousOutcome):
        return exc
    if isinstance(exc, ExchangeFailure):
        return AmbiguousOutcome(f"unusable answer after sending: {exc.message}", code=exc.code)
    return AmbiguousOutcome(f"unusable answer after sending: {type(exc).__name__}: {exc}")


def _rejected(order: OrderRequest, item: Mapping[str, Any]) -> OrderReport:
    code = item.get("code")
    return OrderReport(
        order.client_id,
        order.instrument,
        OrderState.REJECTED,
        error_code=int(code)
        if isinstance(code, int | str) and str(code).lstrip("-").isdigit()
        else None,
        error=str(item.get("msg", "rejected")),
    )


def _replace_fee(report: OrderReport, fee: Decimal, currency: str) -> OrderReport:
    return replace(report, fee=fee, fee_currency=currency, fee_estimated=True)


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedResponse(f"exchange answer has no {where}")
    return value


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
        info = entry.get("info") if isinstance(entry, Mapping) else None
        rate = info.get("lastFundingRate") if isinstance(info, Mapping) else None
        return None if rate in (None, "") else number(rate, f"funding rate {symbol}", signed=True)

    def perps(
        self, instruments: Sequence[str], positions: Mapping[str, Decimal]
    ) -> dict[str, PerpState]:
        """Perp states for the listed instruments and any held position, with their marks."""
        listed = self._gateway.listed
        held = sorted(s for s, q in positions.items() if q != 0)
        wanted = [s for s in dict.fromkeys([*instruments, *held]) if s in listed]
        return {
            s: PerpState(self._gateway.rules(s), self.mark(s), positions.get(s, Decimal(0)))
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
