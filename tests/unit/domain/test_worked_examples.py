"""The seed guide's worked examples (DESIGN §2), reproduced exactly."""

from __future__ import annotations

from decimal import Decimal

from rebalancer.domain.plan import CapState, LineStatus, Side
from rebalancer.domain.planner import plan
from rebalancer.domain.strategy import Group
from tests.unit.domain.builders import perp, seed_snapshot, seed_strategy, snapshot, strategy

D = Decimal


def test_seed_60_40_shorts_1000_of_btc_and_longs_1000_of_eth() -> None:
    result = plan(seed_snapshot(), seed_strategy())

    orders = {(o.instrument, o.side): o for o in result.orders}
    assert set(orders) == {("BTC/USDT:USDT", Side.SELL), ("ETH/USDT:USDT", Side.BUY)}
    assert orders["BTC/USDT:USDT", Side.SELL].notional == D(1000)
    assert orders["BTC/USDT:USDT", Side.SELL].amount == D("0.02")
    assert orders["ETH/USDT:USDT", Side.BUY].notional == D(1000)
    assert orders["ETH/USDT:USDT", Side.BUY].amount == D("0.4")
    assert result.gross_after == D(2000)
    assert result.cap is CapState.WITHIN
    assert result.largest_drift_after == 0
    assert result.collateral_shortfall == 0
    assert all(line.status is LineStatus.REBALANCED for line in result.lines)


def _rotation_snapshot() -> object:
    return snapshot(
        {
            "BTC": ("100000", "0.5"),
            "ETH": ("3000", "10"),
            "UNI": ("10", "1000"),
            "AAVE": ("200", "50"),
        },
        [
            perp("BTC/USDT:USDT", "100000"),
            perp("ETH/USDT:USDT", "3000"),
            perp("UNI/USDT:USDT", "10", step="1"),
            perp("AAVE/USDT:USDT", "200", step="0.1"),
            perp("DEFI/USDT:USDT", "1000"),
        ],
        futures_equity="40000",
    )


def _rotation_strategy(index: str | None = None) -> object:
    return strategy(
        {"BTC": "9/35", "ETH": "6/35", "UNI": "1/7", "AAVE": "1/7"},
        cash="2/7",
        groups=(
            Group("large-caps", ("BTC", "ETH")),
            Group("defi", ("UNI", "AAVE"), index=index),
        ),
    )


def test_sector_rotation_moves_20000_from_large_caps_to_defi_pro_rata() -> None:
    result = plan(_rotation_snapshot(), _rotation_strategy())  # type: ignore[arg-type]

    short = sum((o.notional for o in result.orders if o.side is Side.SELL), D(0))
    long = sum((o.notional for o in result.orders if o.side is Side.BUY), D(0))
    by_symbol = {o.instrument: o for o in result.orders}
    # BTC/ETH split the group's short 36:24; ETH rounds towards zero to its 0.001 step ($3).
    assert by_symbol["BTC/USDT:USDT"].notional == D(12000)
    assert D(7997) <= by_symbol["ETH/USDT:USDT"].notional <= D(8000)
    assert D(19997) <= short <= D(20000)
    assert by_symbol["UNI/USDT:USDT"].notional == D(10000)
    assert by_symbol["AAVE/USDT:USDT"].notional == D(10000)
    assert long == D(20000)
    assert {line.name for line in result.lines} == {"defi", "large-caps"}
    assert result.largest_drift_after < D("0.0001")


def test_sector_rotation_uses_the_index_perp_where_configured() -> None:
    result = plan(_rotation_snapshot(), _rotation_strategy("DEFI/USDT:USDT"))  # type: ignore[arg-type]

    longs = [o for o in result.orders if o.side is Side.BUY]
    assert [(o.instrument, o.notional) for o in longs] == [("DEFI/USDT:USDT", D(20000))]


def test_closing_when_spot_is_back_on_target_closes_both_hedges_reduce_only() -> None:
    back_on_target = snapshot(
        {"BTC": ("50000", "0.12"), "ETH": ("2500", "1.6")},
        [perp("BTC/USDT:USDT", "50000", "-0.02"), perp("ETH/USDT:USDT", "2500", "0.4")],
        futures_equity="2000",
    )
    result = plan(back_on_target, seed_strategy())

    assert [(o.instrument, o.side, o.amount, o.reduce_only) for o in result.orders] == [
        ("BTC/USDT:USDT", Side.BUY, D("0.02"), True),
        ("ETH/USDT:USDT", Side.SELL, D("0.4"), True),
    ]
    assert result.gross_after == 0
    assert all(line.target_hedge == 0 for line in result.lines)
