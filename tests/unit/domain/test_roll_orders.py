"""Acting on a roll (roll.py): the closing orders and the spot orders, for any portfolio.

Properties where the rules combine: every rolled line's perps close to zero with reduce-only
orders sent before every other order and on legs no other order uses, the plan stays one the
executor accepts, every line says what it ends with (and its hedge-or-sell row that it rolled),
and the spot orders never sell more than the exchange holds, never spend more quote than there
is, sit on the market's step and above its minimums, sales first.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from rebalancer.domain.carry import CarryTerms, with_carry
from rebalancer.domain.market import MarketRules
from rebalancer.domain.plan import LineStatus, Plan, Side
from rebalancer.domain.planner import plan
from rebalancer.domain.roll import (
    BUY_HEADROOM,
    LineRoll,
    RollDecision,
    RollReason,
    RollRules,
    decide_roll,
    rolled_plan,
    spot_orders,
    spot_to_target,
)
from rebalancer.domain.snapshot import Snapshot
from rebalancer.domain.strategy import Strategy
from rebalancer.service.executor import check_plan
from tests.unit.domain.builders import perp, snapshot
from tests.unit.domain.test_planner_class_properties import Case, cases
from tests.unit.domain.test_planner_properties import portfolios

D = Decimal
EVERYTHING = RollRules(enabled=True, on_cap=False, collateral_floor=D(10), on_carry=False)
STEPS = [D("0.001"), D("0.01"), D("0.1"), D(1)]


@given(portfolios())
def test_a_rolled_plan_closes_every_rolled_hedge_first_and_stays_executable(
    case: tuple[Snapshot, Strategy],
) -> None:
    snap, strategy = case
    planned = plan(snap, strategy)
    decision = decide_roll(planned, snap, strategy, (), EVERYTHING)
    rolled = rolled_plan(planned, snap, decision)
    lines = {r.line for r in decision.lines}

    closes = [o for o in rolled.orders if o.line in lines]
    held = {
        s
        for line in planned.lines
        if line.name in lines
        for s in line.instruments
        if snap.perps.get(s) is not None and snap.perps[s].position != 0
    }
    assert {o.instrument for o in closes} == held
    assert all(o.reduce_only and o.position_after == 0 for o in closes)
    assert rolled.orders[: len(closes)] == tuple(closes)  # before every other order
    legs = [o.leg for o in rolled.orders]
    assert len(legs) == len(set(legs))
    assert min((o.leg for o in closes), default=10**9) > max(
        (o.leg for o in planned.orders), default=0
    )
    kept = [o for o in planned.orders if o.line not in lines and o.instrument not in held]
    assert list(rolled.orders[len(closes) :]) == kept
    assert rolled.gross_after <= planned.gross_after
    check_plan(rolled)  # raises if the executor would refuse it
    _assert_lines_say_the_roll(planned, rolled, snap, decision)


def _assert_lines_say_the_roll(
    planned: Plan, rolled: Plan, snap: Snapshot, decision: RollDecision
) -> None:
    """Rolled lines end with no hedge, on target as wanted; the others are the plan's own (an
    instrument belongs to one line only); hedge-or-sell rows are marked."""
    lines = {r.line for r in decision.lines}
    after = {s: p.position for s, p in snap.perps.items()}
    for order in rolled.orders:
        after[order.instrument] = order.position_after
    for before, line in zip(planned.lines, rolled.lines, strict=True):
        if line.name in lines:
            assert line.status is LineStatus.ROLLED
            assert all(after[s] == 0 for s in line.instruments if s in after)
            assert line.hedge_after == 0
            assert line.drift_after == 0
            assert line.reasons[-1].startswith("rolled into spot (")
            assert line.exposure_after == line.spot_value + line.target_hedge  # on target
        else:
            assert line == before
    # Cash: the closes, and the spot trades as wanted (sales add, purchases spend).
    if not lines:
        assert rolled.cash == planned.cash
    traded = sum((v for r in decision.lines for v in r.spot.values()), D(0))
    hedges = sum((q * snap.perps[s].mark for s, q in after.items()), D(0))
    assert rolled.cash.exposure_after == snap.cash + snap.futures_equity - hedges - traded
    assert rolled.cash.drift_after == (
        rolled.cash.exposure_after / rolled.equity - rolled.cash.target_weight
    )
    assert (rolled.carry is None) is (planned.carry is None)
    if rolled.carry is not None:
        assert all(not f.rolled for f in planned.carry.lines)
        assert [f.rolled for f in rolled.carry.lines] == [
            f.line in lines for f in rolled.carry.lines
        ]


@given(cases(shared=True, minimums=True, fee=True), st.data())
def test_a_roll_of_some_lines_says_what_each_line_ends_with(
    case: Case, data: st.DataObject
) -> None:
    snap, strategy = case.snapshot, case.strategy
    planned = with_carry(plan(snap, strategy), snap, strategy, CarryTerms(D(24 * 30)), {})
    chosen = [
        line
        for line in planned.lines
        if line.instruments and line.hedge_before != 0 and data.draw(st.booleans())
    ]
    decision = RollDecision(
        (),
        tuple(
            LineRoll(
                line.name, line.hedge_before, spot_to_target(line, strategy), (RollReason.CARRY,)
            )
            for line in chosen
        ),
    )
    rolled = rolled_plan(planned, snap, decision)
    _assert_lines_say_the_roll(planned, rolled, snap, decision)
    check_plan(rolled)


@st.composite
def rolls(draw: st.DrawFn) -> tuple[RollDecision, Snapshot, dict[str, MarketRules | None]]:
    n = draw(st.integers(1, 4))
    spot: dict[str, tuple[str, str]] = {}
    rules: dict[str, MarketRules | None] = {}
    lines = []
    for i in range(n):
        asset = f"A{i}"
        price = D(draw(st.integers(1, 10_000_000))) / 100
        spot[asset] = (str(price), str(D(draw(st.integers(0, 100_000))) / 100))
        step = draw(st.sampled_from(STEPS))
        rules[asset] = draw(
            st.sampled_from(
                [
                    None,
                    MarketRules(
                        f"{asset}/USDT",
                        amount_step=step,
                        min_amount=step * draw(st.integers(1, 3)),
                        min_notional=D(draw(st.sampled_from([0, 5, 10, 100]))),
                        taker_fee=D(draw(st.sampled_from(["0", "0.001"]))),
                    ),
                ]
            )
        )
        value = D(draw(st.integers(-10_000_000, 10_000_000))) / 100
        lines.append(LineRoll(asset, D(-1), {asset: value}, (RollReason.COLLATERAL,)))
    cash = str(D(draw(st.integers(0, 10_000_000))) / 100)
    snap = snapshot(spot, [perp("X/USDT:USDT", "1")], "1000", cash=cash)
    return RollDecision((RollReason.COLLATERAL,), tuple(lines)), snap, rules


@given(rolls())
def test_spot_orders_stay_within_the_balances_the_step_and_the_minimums(
    case: tuple[RollDecision, Snapshot, dict[str, MarketRules | None]],
) -> None:
    decision, snap, rules = case
    names = [r.line for r in decision.lines]
    orders, skips = spot_orders(decision, snap, rules, lines=names, first_leg=7)

    wanted = {a: v for r in decision.lines for a, v in r.spot.items() if v != 0}
    # Every wanted trade is either ordered or skipped with its reason, never both.
    assert sorted([o.asset for o in orders] + [s.asset for s in skips]) == sorted(wanted)
    assert [o.leg for o in orders] == list(range(7, 7 + len(orders)))
    sides = [o.side for o in orders]
    assert sides == sorted(sides, key=lambda s: s is Side.BUY)  # sales first
    cash = snap.cash
    for order in orders:
        market = rules[order.asset]
        assert market is not None
        value = wanted[order.asset]
        assert (order.side is Side.SELL) == (value < 0)
        assert order.quantity > 0
        assert order.quantity % market.amount_step == 0
        assert order.quantity >= market.min_amount
        assert order.notional >= market.min_notional
        assert order.notional <= abs(value)  # never more than the roll asked for
        if order.side is Side.SELL:
            assert order.quantity <= snap.spot[order.asset].exchange
            cash += order.notional * (1 - market.taker_fee)
        else:
            cash -= order.notional * (1 + market.taker_fee + BUY_HEADROOM)
            assert cash >= 0  # purchases are funded by the cash and the sales before them
    for skip in skips:
        assert skip.reason


def test_a_line_whose_hedge_did_not_close_trades_no_spot() -> None:
    snap = snapshot({"BTC": ("50000", "1")}, [perp("BTC/USDT:USDT", "50000", "-0.1")], "1000")
    line = LineRoll("BTC", D(-5000), {"BTC": D(-5000)}, (RollReason.COLLATERAL,))
    rules = {"BTC": MarketRules("BTC/USDT", amount_step=D("0.00001"))}
    decision = RollDecision((RollReason.COLLATERAL,), (line,))

    assert spot_orders(decision, snap, rules, lines=[], first_leg=1) == ((), ())
    (order,), () = spot_orders(decision, snap, rules, lines=["BTC"], first_leg=1)
    assert (order.side, order.quantity, order.symbol) == (Side.SELL, D("0.1"), "BTC/USDT")
