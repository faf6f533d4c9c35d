"""The executor with a fake exchange: write-ahead, phases, and the re-check of the cap."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from rebalancer.domain.lifecycle import OrderStatus, RunState
from rebalancer.domain.market import MarketRules
from rebalancer.domain.plan import Plan
from rebalancer.domain.planner import plan
from rebalancer.domain.snapshot import Snapshot
from rebalancer.exchange.port import (
    KeyPermissions,
    OrderReport,
    OrderRequest,
    OrderState,
)
from rebalancer.service.controls import MemoryControls, TradingGate
from rebalancer.service.cycle import CycleResult
from rebalancer.service.executor import UnsafePlan, check_plan, execute
from rebalancer.service.ids import client_order_id
from rebalancer.service.memory_journal import MemoryJournal
from tests.unit.domain.builders import perp, seed_strategy, snapshot

OPEN = TradingGate(MemoryControls(), "p")

D = Decimal


def clock() -> datetime:
    return datetime(2026, 1, 5, tzinfo=UTC)


@dataclass
class FakeGateway:
    """Answers orders from a script; records what was sent and what the journal held then."""

    journal: MemoryJournal
    answer: dict[str, OrderState] = field(default_factory=dict)
    fill_ratio: Decimal = Decimal(1)
    sent: list[list[str]] = field(default_factory=list)
    committed_before_send: list[bool] = field(default_factory=list)

    @property
    def exchange_id(self) -> str:
        return "fake"

    async def place(self, orders: Sequence[OrderRequest]) -> list[OrderReport]:
        self.sent.append([o.client_id for o in orders])
        self.committed_before_send.append(all(o.client_id in self.journal.orders for o in orders))
        reports = []
        for o in orders:
            state = self.answer.get(o.instrument, OrderState.FILLED)
            filled = o.amount * self.fill_ratio if state is OrderState.FILLED else D(0)
            reports.append(OrderReport(o.client_id, o.instrument, state, "x", filled, D(1)))
        return reports

    async def markets(self) -> Mapping[str, MarketRules]:
        raise NotImplementedError

    async def snapshot(self, *_: object) -> Snapshot:
        raise NotImplementedError

    async def refresh_positions(self, previous: Snapshot) -> Snapshot:
        raise NotImplementedError

    def client_id(self, run_id: str, leg: int) -> str:
        return client_order_id(run_id, leg)

    async def prepare(self, *_: object) -> list[str]:
        return []

    async def lookup(self, *_: object) -> OrderReport | None:
        return None

    async def lookup_patiently(self, *_: object) -> OrderReport | None:
        return None

    async def key_permissions(self) -> KeyPermissions | None:
        return None

    async def close(self) -> None:
        return None


def mixed_plan() -> Plan:
    snap = snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [perp("BTC/USDT:USDT", "50000", "-0.01"), perp("ETH/USDT:USDT", "2500", "0.6")],
        futures_equity="2000",
    )
    return plan(snap, seed_strategy())


def test_intents_are_committed_before_each_phase_is_sent_reductions_first() -> None:
    journal = MemoryJournal()
    gateway = FakeGateway(journal)
    result = asyncio.run(execute(mixed_plan(), "r1", gateway, journal, clock, gate=OPEN))

    assert gateway.sent == [["rb-r1-0"], ["rb-r1-1"]]  # ETH reduction, then BTC increase
    assert gateway.committed_before_send == [True, True]
    assert result.complete
    assert {o.status for o in journal.orders.values()} == {OrderStatus.FILLED}


def test_increases_are_withheld_while_a_reduction_is_unknown() -> None:
    journal = MemoryJournal()
    gateway = FakeGateway(journal, answer={"ETH/USDT:USDT": OrderState.UNKNOWN})
    result = asyncio.run(execute(mixed_plan(), "r1", gateway, journal, clock, gate=OPEN))

    assert gateway.sent == [["rb-r1-0"]]
    assert result.unresolved == ("rb-r1-0",)
    assert result.withheld == ("rb-r1-1",)
    assert journal.events[-1].kind == "increases_withheld"


def test_increases_are_withheld_when_reductions_fill_short_and_the_cap_would_break() -> None:
    snap = snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [perp("BTC/USDT:USDT", "50000", "-0.01"), perp("ETH/USDT:USDT", "2500", "0.6")],
        futures_equity="1500",
    )
    tight = plan(snap, seed_strategy())
    journal = MemoryJournal()
    gateway = FakeGateway(journal, fill_ratio=D(0))  # the reduction "fills" nothing
    result = asyncio.run(execute(tight, "r1", gateway, journal, clock, gate=OPEN))

    assert len(gateway.sent) == 1
    assert result.withheld
    assert "over the cap" in journal.events[-1].message


def test_the_executor_refuses_a_plan_over_the_cap() -> None:
    bad = mixed_plan()
    with pytest.raises(UnsafePlan, match="exceeds the cap"):
        check_plan(replace(bad, gross_after=bad.leverage_budget * 2))


def test_the_executor_refuses_orders_that_do_not_chain_from_the_real_position() -> None:
    snap = snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [perp("BTC/USDT:USDT", "50000", "0.01"), perp("ETH/USDT:USDT", "2500", "0.4")],
        futures_equity="2000",
    )
    flip = plan(snap, seed_strategy())  # BTC: close 0.01 reduce-only, then open 0.02 short
    close, reopen = (o for o in flip.orders if o.instrument == "BTC/USDT:USDT")
    check_plan(flip)
    # A reopening written as if from zero while the close is not in the plan: the re-check
    # would start from a position the account does not hold.
    orders = tuple(o for o in flip.orders if o is not close)
    with pytest.raises(UnsafePlan, match="does not start where the last order left"):
        check_plan(replace(flip, orders=(replace(reopen, position_before=D("0.01")), *orders[1:])))


def test_a_flip_whose_close_is_refused_is_sent_as_one_order_and_rechecked_from_the_position() -> (
    None
):
    snap = snapshot(
        {"BTC": ("50000", "0.1")},
        [perp("BTC/USDT:USDT", "50000", "-0.004", min_amount="0.005")],
        futures_equity="1000",
        cash="6000",
    )
    one = plan(snap, replace(seed_strategy(), weights={"BTC": D("0.5")}, cash_weight=D("0.5")))
    (order,) = one.orders
    assert (order.position_before, order.position_after) == (D("-0.004"), D("0.020"))
    journal = MemoryJournal()
    gateway = FakeGateway(journal)
    result = asyncio.run(execute(one, "r1", gateway, journal, clock, gate=OPEN))
    # Gross ends at 1,000 = the cap: read from 0 instead of -0.004, the same order would look
    # like 0.024 x 50,000 = 1,200 and be withheld.
    assert gateway.sent == [["rb-r1-0"]]
    assert not result.withheld


def test_a_cycle_with_an_unknown_order_reports_it_unresolved() -> None:

    reports = (
        OrderReport("rb-r-0", "BTC/USDT:USDT", OrderState.FILLED, "1", D(1), D(1)),
        OrderReport("rb-r-1", "ETH/USDT:USDT", OrderState.UNKNOWN),
    )
    result = CycleResult("r", RunState.FAILED, reports=reports, error="boom")
    assert result.unresolved == ("rb-r-1",)
    assert CycleResult("r", RunState.COMPLETED, reports=reports[:1]).unresolved == ()
