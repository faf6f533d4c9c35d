"""The exchange behind the kill switch: every write checks the trading gate first.

Bootstrap wraps every gateway it builds for a journaled entry point in this, so an order (perp
or spot), a leverage or margin-mode change, or a transfer cannot leave the process while the
portfolio is halted or its circuit is open — whichever command or job asks, including ones
added later.
Reads pass through: a halted portfolio can still be looked at, reconciled and planned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from rebalancer.domain.ledger import CarryRead
from rebalancer.domain.market import MarketRules
from rebalancer.domain.snapshot import Snapshot
from rebalancer.exchange.port import ExchangeGateway, KeyPermissions, OrderReport, OrderRequest
from rebalancer.service.controls import TradingGate


class GatedGateway:
    """An `ExchangeGateway` whose writes raise `TradingStopped` while trading is stopped."""

    def __init__(self, inner: ExchangeGateway, gate: TradingGate) -> None:
        self.inner = inner
        self.gate = gate

    @property
    def exchange_id(self) -> str:
        return self.inner.exchange_id

    async def markets(self) -> Mapping[str, MarketRules]:
        return await self.inner.markets()

    async def snapshot(
        self, assets: Sequence[str], instruments: Sequence[str], off_exchange: Mapping[str, Decimal]
    ) -> Snapshot:
        return await self.inner.snapshot(assets, instruments, off_exchange)

    async def refresh_positions(self, previous: Snapshot) -> Snapshot:
        return await self.inner.refresh_positions(previous)

    def client_id(self, run_id: str, leg: int) -> str:
        return self.inner.client_id(run_id, leg)

    async def prepare(self, instruments: Sequence[str], margin_mode: str) -> list[str]:
        self.gate.check()
        return await self.inner.prepare(instruments, margin_mode)

    async def place(self, orders: Sequence[OrderRequest]) -> list[OrderReport]:
        self.gate.check()
        return await self.inner.place(orders)

    async def lookup(self, instrument: str, client_id: str) -> OrderReport | None:
        return await self.inner.lookup(instrument, client_id)

    @property
    def spot_orders(self) -> bool:
        return self.inner.spot_orders

    async def spot_rules(self, assets: Sequence[str]) -> Mapping[str, MarketRules | None]:
        return await self.inner.spot_rules(assets)

    async def place_spot(self, order: OrderRequest) -> OrderReport:
        self.gate.check()
        return await self.inner.place_spot(order)

    async def lookup_patiently(self, instrument: str, client_id: str) -> OrderReport | None:
        return await self.inner.lookup_patiently(instrument, client_id)

    async def top_up_futures(self, most: Decimal) -> Decimal:
        self.gate.check()
        return await self.inner.top_up_futures(most)

    async def key_permissions(self) -> KeyPermissions | None:
        return await self.inner.key_permissions()

    async def read_carry(self, since: datetime, until: datetime) -> CarryRead:
        return await self.inner.read_carry(since, until)

    async def close(self) -> None:
        await self.inner.close()
