"""What a venue dialect is: the one interface the gateway drives for every exchange.

A dialect holds what differs between venues (which ccxt calls read the account, how orders are
sent and looked up, what a position row looks like, which options the ccxt client needs) and
nothing else; retries, classification, lookups over the lag allowance, fee estimates and the
snapshot itself are written once, in the gateway. A dialect reaches the exchange only through
`Venue`, the narrow view of the gateway handed to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from rebalancer.domain.ledger import CarryRead
from rebalancer.domain.market import MarketRules
from rebalancer.domain.snapshot import AccountKind
from rebalancer.exchange.errors import FailureKinds, MalformedResponse, PermanentError
from rebalancer.exchange.parse import market_rules
from rebalancer.exchange.port import KeyPermissions, OrderRequest


class Venue(Protocol):
    """The gateway as a dialect sees it: retried reads, the raw client, loaded markets."""

    @property
    def client(self) -> Any: ...

    @property
    def quote(self) -> str: ...

    async def read(self, name: str, *args: Any) -> Any:
        """A ccxt read, retried on transient failures; failures are `ExchangeFailure`."""
        ...

    def symbol_of(self, market_id: str) -> str | None:
        """The unified perp symbol of an exchange market id (None: not one of our perps)."""
        ...

    def rules(self, symbol: str) -> MarketRules: ...

    async def setting(self, name: str, *args: Any) -> None:
        """A retried settings call; the venue's "already so" answer counts as done."""
        ...


@dataclass(frozen=True, slots=True)
class FuturesAccount:
    """The futures side: signed positions in base units and what they draw on.

    Segregated: `equity` is F (futures wallet + unrealized PnL). Unified: `equity` is the
    perps' PnL not yet settled into the quote balance, and `collateral_value` the exchange's
    collateral value (DESIGN §2, "Account kinds").
    """

    equity: Decimal
    positions: Mapping[str, Decimal] = field(default_factory=dict)
    collateral_value: Decimal | None = None
    maintenance_margin: Decimal | None = None
    cash: Decimal | None = None  # unified: the quote balance, read again with the positions


@dataclass(frozen=True, slots=True)
class Account:
    """One read of the account: coin balances and the futures side.

    Segregated: the spot wallet's totals. Unified: the one account's balances, the quote's
    negative when borrowed.
    """

    balances: Mapping[str, Decimal]
    futures: FuturesAccount
    kind: AccountKind = AccountKind.SEGREGATED


@dataclass(frozen=True, slots=True)
class Rejection:
    """An item of a placement answer saying the venue refused that order."""

    code: int | None
    message: str


class Dialect(Protocol):
    """One venue's dialect of ccxt (see the module docstring)."""

    @property
    def name(self) -> str: ...

    @property
    def error_codes(self) -> Mapping[int, FailureKinds]:
        """The venue's error codes whose meaning must not be left to ccxt's tables."""
        ...

    def client_id(self, run_id: str, leg: int) -> str:
        """The client order id of a run's leg in this venue's allowed form
        (one of `rebalancer.domain.client_ids`)."""
        ...

    def client_options(self) -> dict[str, Any]:
        """ccxt constructor options this venue needs (the user's config may add more)."""
        ...

    def call_floor(self, orders: int) -> int:
        """The fewest REST calls this venue allows for one cycle that reads a snapshot (every
        position counted), places `orders` perp market orders and learns their fills: the
        yardstick `benchmarks/bench_cycle.py --all-venues` measures a cycle against. A roll's
        spot orders are not counted (each is one call of its own, plus a lookup where the
        answer is an ack)."""
        ...

    async def account(self, venue: Venue, coins: Sequence[str]) -> Account:
        """Balances of `coins` and the futures account, with the fewest calls the venue allows."""
        ...

    async def futures_account(self, venue: Venue) -> FuturesAccount:
        """The futures side alone (a post-trade check)."""
        ...

    async def public_prices(self, venue: Venue) -> tuple[Any, Any]:
        """All marks (with funding) and all spot last prices, as ccxt returns them."""
        ...

    def funding_rate(self, mark_entry: Mapping[str, Any]) -> object:
        """The current funding rate in a mark entry of `public_prices` (None: not given)."""
        ...

    async def check_account_mode(self, venue: Venue) -> None:
        """Raise `PermanentError` for an account mode the snapshot cannot read truthfully."""
        ...

    async def check_position_mode(self, venue: Venue) -> None:
        """Raise `PermanentError` unless the account is in one-way position mode."""
        ...

    async def prepare(self, venue: Venue, symbols: Sequence[str], margin_mode: str) -> list[str]:
        """Leverage 1x and `margin_mode` where needed (or refuse); one line per change."""
        ...

    def batches(self, venue: Venue, orders: Sequence[OrderRequest]) -> list[Sequence[OrderRequest]]:
        """The orders in the groups the venue accepts in one request; raises `ValueError`
        (nothing sent) for an order the venue's rules refuse (client id, lot size)."""
        ...

    async def send(self, venue: Venue, batch: Sequence[OrderRequest]) -> Sequence[object]:
        """Send one group; one answer item per order, in order. Raises what ccxt raises."""
        ...

    def answer(
        self, venue: Venue, order: OrderRequest, item: object
    ) -> Mapping[str, Any] | Rejection:
        """One item of `send`'s answer as ccxt's unified order, or the venue's refusal."""
        ...

    async def find(self, venue: Venue, instrument: str, client_id: str) -> Any:
        """ccxt's unified order with this client id; raises what ccxt raises if not found.
        `instrument` is a perp, or a spot market where the venue has `spot_orders`."""
        ...

    @property
    def spot_orders(self) -> bool:
        """Whether the bot places spot market orders on this venue (the roll policy needs
        them; config refuses `policy.enabled = ["roll"]` elsewhere). The one place it is said."""
        ...

    async def send_spot(self, venue: Venue, order: OrderRequest) -> object:
        """Send one spot market order (amount in base units, on the spot market's step);
        ccxt's unified order back, or an ack with our client id to look up (no status). Raises
        what ccxt raises, the venue's refusal as its kind, `PermanentError` (nothing sent) for
        an order the spot market's rules or the client-id form refuse."""
        ...

    async def key_permissions(self, venue: Venue) -> KeyPermissions | None:
        """The key's permissions, or None where the venue cannot tell."""
        ...

    async def transfer_to_futures(self, venue: Venue, amount: Decimal) -> None:
        """Move `amount` of the quote from the spot wallet to the futures wallet."""
        ...

    async def carry(self, venue: Venue, since: datetime, until: datetime) -> CarryRead:
        """Funding payments (and, where the account borrows, interest charges) booked in
        [since, until], each keyed by the venue's own id; amounts signed in the quote."""
        ...


def spot_market(venue: Venue, symbol: str, name: str) -> Mapping[str, Any]:
    """ccxt's spot market `symbol` (loaded with the perps); `PermanentError` if there is none."""
    market = (venue.client.markets or {}).get(symbol)
    if not isinstance(market, Mapping) or not market.get("spot"):
        raise PermanentError(f"{symbol} is not a spot market on {name}; nothing sent")
    return market


def spot_lots(venue: Venue, market: Mapping[str, Any], amount: Decimal) -> str:
    """`amount` (base units) as sent, if it is a positive whole number of the spot market's
    steps at or above its minimum; `PermanentError` (nothing sent) otherwise."""
    rules = market_rules(market, int(venue.client.precisionMode))
    if amount <= 0 or amount % rules.amount_step or amount < rules.min_amount:
        raise PermanentError(
            f"{market['symbol']}: {amount} is not a positive whole number of the spot step "
            f"{rules.amount_step} at or above the minimum {rules.min_amount}; nothing sent"
        )
    return format(amount, "f")


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(value: object, where: str) -> datetime:
    """A venue's epoch-milliseconds time as aware UTC."""
    try:
        return datetime.fromtimestamp(int(str(value)) / 1000, UTC)
    except (TypeError, ValueError, OverflowError):
        raise MalformedResponse(f"exchange answer has time {value!r} at {where}") from None
