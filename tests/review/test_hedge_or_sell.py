"""`show` prints the hedge-or-sell figures journaled with a run's plan (runs.plan JSON)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from rich.console import Console

from rebalancer.domain.carry import CarryTerms, with_carry
from rebalancer.domain.lifecycle import RunState
from rebalancer.domain.plan import Plan
from rebalancer.domain.planner import plan
from rebalancer.domain.roll import LineRoll, RollDecision, RollReason, rolled_plan, spot_to_target
from rebalancer.render.plan_json import carry_from_dict, carry_to_dict, plan_to_dict
from rebalancer.review import run_view, show
from rebalancer.store import SqlJournal, Store
from tests.store.builders import T0, run_start
from tests.unit.domain.builders import seed_snapshot, seed_strategy

D = Decimal


def _planned() -> Plan:
    snap, strat = seed_snapshot(), seed_strategy()
    terms = CarryTerms(horizon_hours=D(168))
    return with_carry(plan(snap, strat), snap, strat, terms, {"BTC": D(40_000)})


def test_the_figures_survive_the_plan_json() -> None:
    planned = _planned()
    carry = planned.carry
    document = plan_to_dict(planned)

    assert document["hedge_or_sell"]["label"] == "figures only, no tax advice"
    assert carry_from_dict(document["hedge_or_sell"]) == carry
    assert carry_to_dict(None) is None
    assert carry_from_dict({"lines": [{"line": "BTC"}]}) is None  # not this form: not shown


def _shown(store: Store, run_id: str, planned: Plan, *, mode: str, width: int) -> str:
    """What `show` prints for a completed run that journaled `planned`, on one line."""
    journal = SqlJournal(store)
    journal.start_run(run_start(run_id, mode=mode))
    journal.advance_run(run_id, RunState.SNAPSHOT, T0)
    journal.record_plan(run_id, planned)
    journal.advance_run(run_id, RunState.PLANNED, T0)
    journal.advance_run(run_id, RunState.COMPLETED, T0)
    detail = show(store, run_id)
    assert detail is not None
    console = Console(width=width, record=True, color_system=None)
    console.print(run_view(detail))
    return " ".join(console.export_text().split())


def test_show_prints_hedge_or_sell_beside_the_plan(store: Store) -> None:
    output = _shown(store, "r-carry", _planned(), mode="dry-run", width=100)

    assert "Hedge or sell over 7d" in output
    assert "figures only, no tax advice" in output
    # Short BTC 1,000 for a week receives 21 fundings of 0.01 %: 2.10; the sale it replaces
    # would realise 0.02 x (50,000 - 40,000) = 200.
    assert "-2.10" in output
    assert "+200.00" in output


def _rolled() -> Plan:
    """The seed plan with its BTC line rolled (the carry condition), as a rolling run journals
    it."""
    snap, strat = seed_snapshot(), seed_strategy()
    held = replace(
        snap,
        perps={
            s: replace(p, position=D("-0.02") if s == "BTC/USDT:USDT" else p.position)
            for s, p in snap.perps.items()
        },
    )
    planned = with_carry(plan(held, strat), held, strat, CarryTerms(horizon_hours=D(168)), {})
    btc = next(line for line in planned.lines if line.name == "BTC")
    decision = RollDecision(
        (), (LineRoll("BTC", btc.hedge_before, spot_to_target(btc, strat), (RollReason.CARRY,)),)
    )
    return rolled_plan(planned, held, decision)


def test_a_rolled_line_is_marked_in_the_json_and_old_journals_read_as_not_rolled() -> None:
    rolled = _rolled()
    assert rolled.carry is not None
    document = plan_to_dict(rolled)
    rows = {row["line"]: row for row in document["hedge_or_sell"]["lines"]}
    assert rows["BTC"]["rolled"] is True
    assert rows["ETH"]["rolled"] is False
    assert carry_from_dict(document["hedge_or_sell"]) == rolled.carry
    for row in document["hedge_or_sell"]["lines"]:
        del row["rolled"]  # a plan journaled before the roll marked its rows
    old = carry_from_dict(document["hedge_or_sell"])
    assert old is not None
    assert not any(f.rolled for f in old.lines)


def test_show_says_a_line_rolled_into_spot(store: Store) -> None:
    output = _shown(store, "r-roll", _rolled(), mode="live", width=240)

    assert "BTC (rolled)" in output
    assert "rolled: the roll policy closed that hedge and traded spot instead" in output
    assert "rolled into spot (projected carry exceeds the cost of the spot trade)" in output
    assert "ETH (rolled)" not in output
