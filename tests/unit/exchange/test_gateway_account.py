"""The gateway builds the snapshot a venue's dialect describes: segregated or unified.

A fake ccxt client and a fake dialect stand in for a venue; what is checked is the gateway's
common part (valuation inputs, collateral, borrowed quote), not any venue's parsing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from rebalancer.domain.snapshot import AccountKind, Snapshot
from rebalancer.exchange.ccxt_gateway import CcxtGateway
from rebalancer.exchange.venues import Account, Dialect, FuturesAccount, Venue

D = Decimal
T0 = datetime(2026, 1, 5, tzinfo=UTC)
BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def _market(symbol: str, market_id: str) -> dict[str, Any]:
    return {
        "id": market_id,
        "symbol": symbol,
        "swap": True,
        "linear": True,
        "settle": "USDT",
        "quote": "USDT",
        "precision": {"amount": 0.001},
        "limits": {"amount": {"min": 0.001}, "cost": {"min": 5}},
        "contractSize": 1,
        "taker": 0.00055,
    }


class FakeClient:
    id = "fake"
    precisionMode = 4  # noqa: N815 - ccxt's attribute name
    markets: Mapping[str, Any] = {"BTC/USDT": {}, "ETH/USDT": {}}

    async def load_markets(self) -> dict[str, Any]:
        return {BTC: _market(BTC, "BTCUSDT"), ETH: _market(ETH, "ETHUSDT")}

    async def fetch_trading_fee(self, symbol: str) -> dict[str, Any]:
        return {"symbol": symbol, "taker": 0.0004}

    async def close(self) -> None:
        return None


class UnifiedDialect:
    """A unified account: the quote borrowed, the exchange's collateral value."""

    def __init__(self) -> None:
        self.collateral = D(9000)

    async def account(self, venue: Venue, coins: Sequence[str]) -> Account:
        balances = {"BTC": D("0.14"), "ETH": D("1.2"), "USDT": D(-500)}
        return Account(
            {c: balances[c] for c in coins}, await self.futures_account(venue), AccountKind.UNIFIED
        )

    async def futures_account(self, venue: Venue) -> FuturesAccount:
        return FuturesAccount(
            D(30), {BTC: D("-0.02")}, collateral_value=self.collateral, maintenance_margin=D(20)
        )

    async def check_account_mode(self, venue: Venue) -> None:
        return None

    async def public_prices(self, venue: Venue) -> tuple[Any, Any]:
        marks = {BTC: {"markPrice": 50000}, ETH: {"markPrice": 2500}}
        return marks, {"BTC/USDT": {"price": 50000}, "ETH/USDT": {"price": 2500}}

    def funding_rate(self, mark_entry: Mapping[str, Any]) -> object:
        return None  # this venue's marks carry no rate


def test_a_unified_accounts_snapshot_counts_its_quote_once_and_caps_on_its_collateral() -> None:
    dialect = UnifiedDialect()
    gateway = CcxtGateway(
        FakeClient(), quote="USDT", clock=lambda: T0, dialect=cast(Dialect, dialect)
    )

    async def go() -> tuple[Snapshot, Snapshot]:
        snap = await gateway.snapshot(["BTC", "ETH"], [BTC, ETH], {})
        dialect.collateral = D(8800)
        return snap, await gateway.refresh_positions(snap)

    snap, later = asyncio.run(go())

    assert snap.kind is AccountKind.UNIFIED
    assert snap.equity == D(7000) + D(3000) - D(500) + D(30)
    assert snap.borrowed == D(500) - D(30)  # the perps' unsettled gain offsets the debt (acc2f29)
    assert snap.collateral == D(9000)
    assert snap.maintenance_margin == D(20)
    assert snap.perps[BTC].rules.taker_fee == D("0.0004")  # the account's rate, not 0.00055
    assert later.collateral == D(8800)
