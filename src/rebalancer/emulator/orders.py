"""The emulator's order and trade records and their store (by id and by client order id).

Binance refuses a duplicate client order id only while the first order is still open; once it
is filled or cancelled the same id is accepted again, and a lookup by that id finds the newest
order. The store models exactly that, because it is the trap an idempotent bot must handle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from rebalancer.sim import Side

CLIENT_ORDER_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")


class Segment(Enum):
    SPOT = "spot"
    FUTURES = "futures"


class OrderStatus(Enum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


class OrderType(Enum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"


@dataclass(frozen=True, slots=True)
class Order:
    segment: Segment
    order_id: int
    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    time_in_force: str
    qty: Decimal
    price: Decimal
    reduce_only: bool
    status: OrderStatus
    executed_qty: Decimal
    cum_quote: Decimal
    created_ms: int
    updated_ms: int
    # What a market order's size was given in, as the dialect's request said it (Bybit's
    # `marketUnit`, OKX's `tgtCcy`); empty where the venue has no such field (Binance).
    unit: str = ""
    requested: Decimal | None = None  # the size as sent, in `unit` (None: `qty`)

    @property
    def avg_price(self) -> Decimal:
        return self.cum_quote / self.executed_qty if self.executed_qty else Decimal(0)


@dataclass(frozen=True, slots=True)
class Trade:
    segment: Segment
    trade_id: int
    order_id: int
    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    realized_pnl: Decimal
    maker: bool
    time_ms: int

    @property
    def quote_qty(self) -> Decimal:
        return self.price * self.qty


class OrderStore:
    """All orders and trades; not thread-safe on its own (the exchange holds the lock)."""

    def __init__(self, first_order_id: int = 1_000_001, first_trade_id: int = 5_000_001) -> None:
        self._next_order_id = first_order_id
        self._next_trade_id = first_trade_id
        self._orders: dict[int, Order] = {}
        self._by_client: dict[tuple[Segment, str], int] = {}
        self._trades: list[Trade] = []

    def new_order_id(self) -> int:
        self._next_order_id += 1
        return self._next_order_id - 1

    def new_trade_id(self) -> int:
        self._next_trade_id += 1
        return self._next_trade_id - 1

    def save(self, order: Order) -> None:
        self._orders[order.order_id] = order
        self._by_client[(order.segment, order.client_order_id)] = order.order_id

    def has_open_client_id(self, segment: Segment, client_order_id: str) -> bool:
        order_id = self._by_client.get((segment, client_order_id))
        return order_id is not None and self._orders[order_id].status.is_open

    def find(
        self, segment: Segment, symbol: str, *, order_id: int | None, client_order_id: str | None
    ) -> Order | None:
        if order_id is None and client_order_id is not None:
            order_id = self._by_client.get((segment, client_order_id))
        order = self._orders.get(order_id) if order_id is not None else None
        if order is None or order.segment is not segment or order.symbol != symbol:
            return None
        return order

    def all_orders(self) -> list[Order]:
        """Every order ever accepted, in id order (tests count duplicates with it)."""
        return [self._orders[k] for k in sorted(self._orders)]

    def open_orders(self, segment: Segment, symbol: str | None = None) -> list[Order]:
        return [
            o
            for o in self._orders.values()
            if o.segment is segment and o.status.is_open and symbol in (None, o.symbol)
        ]

    def record_trade(self, trade: Trade) -> None:
        self._trades.append(trade)

    def trades(self, segment: Segment, symbol: str) -> list[Trade]:
        return [t for t in self._trades if t.segment is segment and t.symbol == symbol]
