"""The kill switch and the circuit breaker as the executor and the gated gateway enforce them."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from rebalancer.domain.market import MarketRules
from rebalancer.domain.snapshot import Snapshot
from rebalancer.exchange.port import KeyPermissions, OrderReport, OrderRequest
from rebalancer.service.controls import Controls, MemoryControls, TradingGate, TradingStopped
from rebalancer.service.executor import execute
from rebalancer.service.gated_gateway import GatedGateway
from rebalancer.service.ids import client_order_id
from rebalancer.service.memory_journal import MemoryJournal
from tests.unit.service.test_executor import FakeGateway, clock, mixed_plan

SINCE = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)


def _halted() -> Controls:
    return Controls(halted=True, reason="going on holiday", since=SINCE)


def _circuit() -> Controls:
    return Controls(circuit_open=True, reason="3 consecutive failed cycles", since=SINCE)


class Recorder:
    """An exchange that records every call and answers reads with nothing useful."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @property
    def exchange_id(self) -> str:
        return "recorder"

    async def markets(self) -> Mapping[str, MarketRules]:
        self.calls.append("markets")
        return {}

    async def snapshot(self, *_: object) -> Snapshot:
        raise NotImplementedError

    async def refresh_positions(self, previous: Snapshot) -> Snapshot:
        raise NotImplementedError

    def client_id(self, run_id: str, leg: int) -> str:
        return client_order_id(run_id, leg)

    async def prepare(self, instruments: Sequence[str], margin_mode: str) -> list[str]:
        self.calls.append("prepare")
        return []

    async def place(self, orders: Sequence[OrderRequest]) -> list[OrderReport]:
        self.calls.append("place")
        return []

    async def lookup(self, instrument: str, client_id: str) -> OrderReport | None:
        self.calls.append("lookup")
        return None

    async def lookup_patiently(self, instrument: str, client_id: str) -> OrderReport | None:
        self.calls.append("lookup_patiently")
        return None

    async def top_up_futures(self, most: Decimal) -> Decimal:
        self.calls.append("top_up_futures")
        return most

    async def key_permissions(self) -> KeyPermissions | None:
        self.calls.append("key_permissions")
        return None

    async def close(self) -> None:
        self.calls.append("close")


def _gate(controls: Controls) -> TradingGate:
    store = MemoryControls()
    store.save("p", controls)
    return TradingGate(store, "p")


@pytest.mark.parametrize("stopped", [_halted(), _circuit()], ids=["halted", "circuit-open"])
def test_the_gated_gateway_sends_no_write_while_trading_is_stopped(stopped: Controls) -> None:
    inner = Recorder()
    gateway = GatedGateway(inner, _gate(stopped))

    async def writes() -> None:
        for write in (
            gateway.place([]),
            gateway.prepare(["BTC/USDT:USDT"], "cross"),
            gateway.top_up_futures(Decimal(100)),
        ):
            with pytest.raises(TradingStopped, match="`rebalancer resume`"):
                await write

    asyncio.run(writes())
    assert inner.calls == []


def test_the_gated_gateway_passes_reads_and_writes_while_trading_is_allowed() -> None:
    inner = Recorder()
    gateway = GatedGateway(inner, _gate(Controls()))

    async def use() -> None:
        await gateway.markets()
        await gateway.lookup("BTC/USDT:USDT", "rb-1-0")
        await gateway.key_permissions()
        await gateway.place([])
        await gateway.top_up_futures(Decimal(5))

    asyncio.run(use())
    assert inner.calls == ["markets", "lookup", "key_permissions", "place", "top_up_futures"]


def test_the_refusal_says_since_when_why_and_how_to_lift_it() -> None:
    assert str(TradingStopped(_halted())) == (
        "trading is halted since 2026-11-30 09:15 UTC (going on holiday); "
        "`rebalancer resume` lifts it"
    )
    assert "circuit breaker is open since 2026-11-30 09:15 UTC" in _circuit().refusal()


def test_a_stopped_portfolio_writes_no_intent_and_sends_nothing() -> None:
    journal = MemoryJournal()
    gateway = FakeGateway(journal)
    with pytest.raises(TradingStopped):
        asyncio.run(execute(mixed_plan(), "r1", gateway, journal, clock, gate=_gate(_halted())))
    assert gateway.sent == []
    assert journal.orders == {}


class HaltAfterFirstPhase(FakeGateway):
    """`rebalancer halt` lands while the reductions are on their way."""

    store: MemoryControls | None = None

    async def place(self, orders: Sequence[OrderRequest]) -> list[OrderReport]:
        reports = await super().place(orders)
        assert self.store is not None
        self.store.save("p", _halted())
        return reports


def test_a_halt_between_the_phases_withholds_the_increases() -> None:
    journal = MemoryJournal()
    store = MemoryControls()
    gateway = HaltAfterFirstPhase(journal)
    gateway.store = store
    result = asyncio.run(
        execute(mixed_plan(), "r1", gateway, journal, clock, gate=TradingGate(store, "p"))
    )

    assert gateway.sent == [["rb-r1-0"]]  # the reduction went; the increase did not
    assert result.withheld == ("rb-r1-1",)
    assert result.stopped is not None
    assert "trading is halted" in result.stopped
    assert "rb-r1-1" not in journal.orders  # no intent for an order that was never sent
    assert journal.events[-1].kind == "increases_withheld"
