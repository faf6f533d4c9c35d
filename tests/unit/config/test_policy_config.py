"""The `[carry]`, `[policy]`, `hedging.max_borrow` and cost-basis keys, and their errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from rebalancer.config import ConfigError, load_settings
from rebalancer.config.load import Settings

GOOD = """
mode = "paper"
[portfolio]
name = "t"
targets = { BTC = "1/2", ETH = "1/3", cash = "1/6" }
[paper]
futures_wallet = 2000
"""


def _load(tmp_path: Path, extra: str, portfolio: str = "") -> Settings:
    """`portfolio` adds keys to the [portfolio] section, `extra` adds sections."""
    path = tmp_path / "c.toml"
    text = GOOD.replace('cash = "1/6" }\n', 'cash = "1/6" }\n' + portfolio)
    path.write_text(text + extra, encoding="utf-8")
    return load_settings(path, {})


def test_policies_are_off_and_the_carry_terms_have_defaults(tmp_path: Path) -> None:
    settings = _load(tmp_path, "")

    assert not settings.roll.enabled
    assert settings.strategy.max_borrow is None
    assert settings.carry.horizon_hours == Decimal(720)
    assert settings.carry.funding_interval_hours == Decimal(8)
    assert settings.cost_basis == {}


def test_the_keys_reach_the_domain(tmp_path: Path) -> None:
    (tmp_path / "lots.csv").write_text(
        "asset,quantity,price\neth,1,2000\nETH,1,3000\n\n", encoding="utf-8"
    )
    settings = _load(
        tmp_path,
        "[hedging]\nmax_borrow = 0.3\nborrow_stress = 0.5\n"
        '[carry]\nhorizon = "7d"\nfunding_rate = -0.0002\nfunding_interval = "4h"\n'
        "borrow_rate = 0.08\n"
        '[policy]\nenabled = ["roll", "top-up"]\nallow_spot_sales = true\n'
        'roll_on = ["borrowing", "collateral"]\ncollateral_floor = 0.5\n'
        "[safety]\ntop_up_max = 500\n",
        portfolio='cost_basis = { btc = 40000 }\ncost_basis_lots = "lots.csv"\n',
    )

    assert settings.cost_basis == {"BTC": Decimal(40000), "ETH": Decimal(2500)}
    assert (settings.strategy.max_borrow, settings.strategy.borrow_stress) == (
        Decimal("0.3"),
        Decimal("0.5"),
    )
    assert settings.carry.horizon_hours == Decimal(168)
    assert settings.carry.funding_interval_hours == Decimal(4)
    assert settings.carry.funding_rate == Decimal("-0.0002")
    roll = settings.roll
    assert roll.enabled
    assert not roll.on_cap
    assert not roll.on_carry
    assert roll.max_borrow == Decimal("0.3")  # the one limit: hedging.max_borrow
    assert roll.collateral_floor == Decimal("0.5")
    assert settings.config.policy.top_up
    assert settings.config.top_up_enabled


BAD = [
    ("[policy]\nenabled = ['hold']", "policy.enabled: unknown policy 'hold'"),
    ("[policy]\nenabled = ['roll']", "policy: policy 'roll' sells spot"),
    ("[policy]\nenabled = ['top-up']", "policy 'top-up' needs safety.top_up_max > 0"),
    ("[policy]\nroll_on = ['moon']", "policy.roll_on: unknown roll condition 'moon'"),
    ("[policy]\ncollateral_floor = 0", "policy.collateral_floor: collateral_floor 0"),
    ("[hedging]\nmax_borrow = 1.5", "hedging.max_borrow: max_borrow 1.5 is out of range"),
    ("[hedging]\nborrow_stress = 0", "hedging.borrow_stress: borrow_stress 0 is out of range"),
    ("[carry]\nhorizon = '10m'", "carry.horizon: 600s is out of range"),
    ("[carry]\nfunding_rate = 0.5", "carry.funding_rate: funding_rate 0.5 is out of range"),
    ("[carry]\nspot_fee = -1", "carry.spot_fee: -1 is out of range"),
]


@pytest.mark.parametrize(("section", "expected"), BAD, ids=[b[1].split(":")[0] for b in BAD])
def test_bad_values_are_one_line_naming_the_field(
    tmp_path: Path, section: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, "\n" + section + "\n")
    assert len(info.value.problems) == 1
    assert info.value.problems[0].replace("Value error, ", "").startswith(expected)


LOTS = [
    ("BTC,1,2\n", "the first line must be the header asset,quantity,price"),
    ("asset,quantity,price\n", "no lots"),
    ("asset,quantity,price\nBTC,1\n", "line 2: expected 3 fields"),
    ("asset,quantity,price\nBTC,0,100\n", "line 2: quantity must be > 0"),
    ("asset,quantity,price\n,1,100\n", "line 2: the asset is empty"),
]


@pytest.mark.parametrize(("text", "expected"), LOTS, ids=[lot[1] for lot in LOTS])
def test_a_bad_lots_file_is_one_line_naming_the_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    (tmp_path / "lots.csv").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, "", 'cost_basis_lots = "lots.csv"\n')
    (problem,) = info.value.problems
    assert problem.startswith("portfolio.cost_basis_lots: ")
    assert expected in problem


def test_a_missing_lots_file_and_a_coin_given_twice_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        _load(tmp_path, "", 'cost_basis_lots = "none.csv"\n')
    (tmp_path / "lots.csv").write_text("asset,quantity,price\nBTC,1,2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="BTC has a cost basis in both"):
        _load(tmp_path, "", 'cost_basis = { BTC = 1 }\ncost_basis_lots = "lots.csv"\n')
