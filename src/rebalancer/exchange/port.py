"""What the services need from an exchange (the port), in domain terms only.

The ccxt gateway implements it for real exchanges and the local emulator; tests may use a
fake. Nothing here knows ccxt: amounts and prices are `Decimal`, times aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Protocol

from rebalancer.domain.ledger import CarryRead
from rebalancer.domain.market import MarketRules
from rebalancer.domain.plan import Side
from rebalancer.domain.snapshot import Snapshot


class OrderState(Enum):
    """An order as the exchange reports it (UNKNOWN: not confirmed either way)."""

    FILLED = "filled"
    PARTIALLY_FILLED = "partially_filled"
    OPEN = "open"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


def is_spot(symbol: str) -> bool:
    """A spot market's symbol (`BTC/USDT`), not a perp's (`BTC/USDT:USDT`)."""
    return ":" not in symbol


def spot_symbol(asset: str, quote: str) -> str:
    return f"{asset}/{quote}"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A market order to send: amount in contracts (base units on a spot market), identified
    by our client order id."""

    client_id: str
    instrument: str
    side: Side
    amount: Decimal
    reduce_only: bool


@dataclass(frozen=True, slots=True)
class OrderReport:
    """The exchange's answer about one order."""

    client_id: str
    instrument: str
    state: OrderState
    exchange_id: str | None = None
    filled: Decimal = Decimal(0)  # contracts
    average_price: Decimal | None = None
    fee: Decimal | None = None
    fee_currency: str | None = None
    fee_estimated: bool = False  # the exchange did not report it; taker rate x notional
    error_code: int | None = None
    error: str | None = None  # why it was rejected or is unknown (no secrets)

    @property
    def settled(self) -> bool:
        """The exchange has confirmed a final or working state."""
        return self.state is not OrderState.UNKNOWN


@dataclass(frozen=True, slots=True)
class KeyPermissions:
    """What the API key may do, where the exchange tells."""

    can_trade: bool
    can_withdraw: bool
    can_trade_futures: bool


@dataclass(frozen=True, slots=True)
class InstrumentSettings:
    """Leverage and margin mode of one perp, as set on the exchange."""

    instrument: str
    leverage: Decimal | None
    margin_mode: str | None


class ExchangeGateway(Protocol):
    """The exchange as the services see it."""

    @property
    def exchange_id(self) -> str: ...

    async def markets(self) -> Mapping[str, MarketRules]:
        """Rules of the quote's linear perps, loaded once."""
        ...

    async def snapshot(
        self, assets: Sequence[str], instruments: Sequence[str], off_exchange: Mapping[str, Decimal]
    ) -> Snapshot:
        """Balances, positions and prices now, read concurrently."""
        ...

    async def refresh_positions(self, previous: Snapshot) -> Snapshot:
        """`previous` with positions and futures equity read again (a post-trade check).

        Spot balances do not move when perps trade, and prices are those of `previous`, so on
        Binance this costs one call.
        """
        ...

    def client_id(self, run_id: str, leg: int) -> str:
        """The client order id of a run's leg, in the form the venue accepts (deterministic:
        recovery derives it again)."""
        ...

    async def prepare(self, instruments: Sequence[str], margin_mode: str) -> list[str]:
        """Set leverage 1x and the margin mode where they differ; return what was changed."""
        ...

    async def place(self, orders: Sequence[OrderRequest]) -> list[OrderReport]:
        """Send orders (batched where possible); ambiguous outcomes come back UNKNOWN."""
        ...

    async def lookup(self, instrument: str, client_id: str) -> OrderReport | None:
        """Find an order by client id (None: the exchange does not know it); `instrument` is
        a perp or a spot market (`is_spot`)."""
        ...

    @property
    def spot_orders(self) -> bool:
        """Whether this venue can place spot market orders (the roll policy needs them)."""
        ...

    async def spot_rules(self, assets: Sequence[str]) -> Mapping[str, MarketRules | None]:
        """Per asset, the rules of its spot market against the quote (None: not listed)."""
        ...

    async def place_spot(self, order: OrderRequest) -> OrderReport:
        """Send one spot market order (amount in base units; `reduce_only` is ignored).

        Like `place`: once the request may have left nothing raises; an ambiguous answer is
        looked up by client id and comes back UNKNOWN if it cannot be confirmed.
        """
        ...

    async def lookup_patiently(self, instrument: str, client_id: str) -> OrderReport | None:
        """`lookup` repeated over the exchange's lag allowance; None: never found.

        Raises `AmbiguousOutcome` when no lookup got an answer at all.
        """
        ...

    async def top_up_futures(self, most: Decimal) -> Decimal:
        """Move up to `most` of the quote's free spot balance to the futures wallet.

        Returns what was moved. Not retried: a transfer is not idempotent.
        """
        ...

    async def key_permissions(self) -> KeyPermissions | None:
        """The key's permissions, or None where the exchange does not say."""
        ...

    async def read_carry(self, since: datetime, until: datetime) -> CarryRead:
        """Funding payments and interest charges the venue booked in [since, until] (a
        simulated account writes its own to the ledger as it settles them: none here)."""
        ...

    async def close(self) -> None: ...
