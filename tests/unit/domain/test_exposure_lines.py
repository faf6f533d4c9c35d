"""Valuation makes a strategy's hedge lines once per strategy object and set of listed perps:
each strategy, and each set of listed perps, still gets its own lines."""

from __future__ import annotations

from decimal import Decimal

from rebalancer.domain.exposure import valuation
from rebalancer.domain.strategy import hedge_lines
from tests.unit.domain.builders import perp, seed_snapshot, snapshot, strategy

D = Decimal


def test_two_strategies_valued_in_turn_each_get_their_own_lines() -> None:
    snap = seed_snapshot()
    first = strategy({"BTC": "0.5", "ETH": "0.3"}, cash="0.2")
    second = strategy({"BTC": "0.2", "ETH": "0.6"}, cash="0.2")  # equal but for the weights
    for _ in range(2):
        for strat in (first, second):
            lines = tuple(s.line for s in valuation(strat, snap).lines)
            assert lines == hedge_lines(strat, frozenset(snap.perps))
    weights = {s.line.name: s.line.weight for s in valuation(second, snap).lines}
    assert weights == {"BTC": D("0.2"), "ETH": D("0.6")}


def test_a_perp_no_longer_listed_leaves_its_line_unhedgeable() -> None:
    strat = strategy({"BTC": "0.5", "ETH": "0.3"}, cash="0.2")
    spot = {"BTC": ("50000", "0.1"), "ETH": ("2500", "1")}
    both = snapshot(spot, [perp("BTC/USDT:USDT", "50000"), perp("ETH/USDT:USDT", "2500")], "2000")
    btc_only = snapshot(spot, [perp("BTC/USDT:USDT", "50000")], "2000")
    assert all(s.line.hedgeable for s in valuation(strat, both).lines)
    lines = {s.line.name: s.line for s in valuation(strat, btc_only).lines}
    assert lines["BTC"].hedgeable
    assert not lines["ETH"].hedgeable
    assert all(s.line.hedgeable for s in valuation(strat, both).lines)


def test_the_same_snapshot_is_valued_once_and_another_one_afresh() -> None:
    # The backtest checks the band on a snapshot and then plans on it: one valuation serves
    # both. Another snapshot, or another strategy, is valued on its own.
    strat = strategy({"BTC": "0.5", "ETH": "0.3"}, cash="0.2")
    perps = [perp("BTC/USDT:USDT", "50000"), perp("ETH/USDT:USDT", "2500")]
    first = snapshot({"BTC": ("50000", "0.1"), "ETH": ("2500", "1")}, perps, "2000")
    moved = snapshot({"BTC": ("60000", "0.1"), "ETH": ("2500", "1")}, perps, "2000")
    value = valuation(strat, first)
    assert valuation(strat, first) is value
    assert valuation(strat, moved).equity == value.equity + D(1000)
    again = valuation(strat, first)  # the memo moved on: valued afresh, to the same figures
    assert again == value
    other = strategy({"BTC": "0.2", "ETH": "0.6"}, cash="0.2")
    assert valuation(other, first).lines[0].target_exposure != value.lines[0].target_exposure
