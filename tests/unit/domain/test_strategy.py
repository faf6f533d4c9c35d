"""Hedge lines: which assets are balanced together, and through which instruments."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rebalancer.domain.strategy import Band, Group, Hedge, Strategy, hedge_lines

D = Decimal
LISTED = frozenset({"BTC/USDT:USDT", "ETH/USDT:USDT", "DEFI/USDT:USDT", "UNI/USDT:USDT"})


def _strategy(**kwargs: object) -> Strategy:
    weights = {"BTC": D("0.3"), "ETH": D("0.3"), "UNI": D("0.2"), "AAVE": D("0.2")}
    hedges = {a: Hedge(f"{a}/USDT:USDT") for a in weights}
    return Strategy(weights=weights, hedges=hedges, **kwargs)  # type: ignore[arg-type]


def test_assets_sharing_a_proxy_instrument_form_one_line() -> None:
    weights = {"ETH": D("0.5"), "XYZ": D("0.5")}
    hedges = {"ETH": Hedge("ETH/USDT:USDT"), "XYZ": Hedge("ETH/USDT:USDT", D("1.5"))}
    (line,) = hedge_lines(Strategy(weights=weights, hedges=hedges), LISTED)
    assert line.name == "ETH+XYZ"
    assert line.weight == D("0.5") + D("1.5") * D("0.5")


def test_a_group_without_its_index_listed_falls_back_to_pro_rata_and_says_so() -> None:
    groups = (Group("defi", ("UNI", "AAVE"), index="DEFIX/USDT:USDT"),)
    lines = {line.name: line for line in hedge_lines(_strategy(groups=groups), LISTED)}
    defi = lines["defi"]
    assert [(leg.instrument, leg.share) for leg in defi.legs] == [("UNI/USDT:USDT", D(1))]
    assert "not listed" in defi.note


def test_a_group_with_its_index_keeps_member_perps_as_idle_legs_to_close_strays() -> None:
    groups = (Group("defi", ("UNI", "AAVE"), index="DEFI/USDT:USDT"),)
    lines = {line.name: line for line in hedge_lines(_strategy(groups=groups), LISTED)}
    assert [(leg.instrument, leg.share) for leg in lines["defi"].legs] == [
        ("DEFI/USDT:USDT", D(1)),
        ("UNI/USDT:USDT", D(0)),
    ]


def test_an_instrument_cannot_serve_a_group_and_an_outside_asset() -> None:
    weights = {"BTC": D("0.5"), "ETH": D("0.3"), "XYZ": D("0.2")}
    hedges = {
        "BTC": Hedge("BTC/USDT:USDT"),
        "ETH": Hedge("ETH/USDT:USDT"),
        "XYZ": Hedge("BTC/USDT:USDT", D("1.2")),
    }
    with pytest.raises(ValueError, match="both hedge with BTC/USDT:USDT"):
        Strategy(weights=weights, hedges=hedges, groups=(Group("majors", ("BTC", "ETH")),))


def test_band_half_width_is_the_tighter_of_absolute_and_relative() -> None:
    band = Band(absolute=D("0.05"), relative=D("0.25"))
    assert band.half_width(D("0.1")) == D("0.025")
    assert band.half_width(D("0.5")) == D("0.05")
    assert Band().half_width(D("0.5")) is None


def test_two_groups_cannot_hedge_with_one_instrument() -> None:
    weights = {"UNI": D("0.3"), "AAVE": D("0.3"), "BTC": D("0.4")}
    hedges = {
        "UNI": Hedge("ETH/USDT:USDT"),
        "AAVE": Hedge("ETH/USDT:USDT"),
        "BTC": Hedge("BTC/USDT:USDT"),
    }
    groups = (Group("a", ("UNI",)), Group("b", ("AAVE",)))
    with pytest.raises(ValueError, match="groups 'a' and 'b' both hedge with ETH/USDT:USDT"):
        Strategy(weights=weights, hedges=hedges, groups=groups)


def test_group_members_proxied_on_one_perp_share_one_leg() -> None:
    weights = {"UNI": D("0.3"), "AAVE": D("0.1"), "BTC": D("0.4")}
    hedges = {
        "UNI": Hedge("ETH/USDT:USDT"),
        "AAVE": Hedge("ETH/USDT:USDT"),
        "BTC": Hedge("BTC/USDT:USDT"),
    }
    strat = Strategy(weights=weights, hedges=hedges, groups=(Group("defi", ("UNI", "AAVE")),))
    lines = {line.name: line for line in hedge_lines(strat, LISTED)}
    assert [(leg.instrument, leg.share) for leg in lines["defi"].legs] == [("ETH/USDT:USDT", D(1))]


def test_a_group_targeted_at_zero_is_still_hedged_on_its_members_perps() -> None:
    weights = {"BTC": D("0.6"), "UNI": D(0), "AAVE": D(0)}
    hedges = {a: Hedge(f"{a}/USDT:USDT") for a in weights}
    strat = Strategy(weights=weights, hedges=hedges, groups=(Group("defi", ("UNI", "AAVE")),))
    lines = {line.name: line for line in hedge_lines(strat, LISTED)}
    assert [(leg.instrument, leg.share) for leg in lines["defi"].legs] == [("UNI/USDT:USDT", D(1))]
