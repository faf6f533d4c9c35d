"""`[simulation]` and `[paper] account`: what a simulated unified account assumes, checked."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from rebalancer.config import ConfigError, load_settings

BASE = """
mode = "paper"
[portfolio]
name = "p"
targets = { BTC = 0.5, SOL = 0.3, cash = 0.2 }
[paper]
futures_wallet = 1000
"""


def _load(tmp_path: Path, extra: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "c.toml"
    path.write_text(BASE + extra, encoding="utf-8")
    return load_settings(path, {})


def _problems(tmp_path: Path, extra: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, extra)
    return info.value.problems


def test_defaults_are_95_percent_for_btc_and_eth_and_10_percent_a_year(tmp_path: Path) -> None:
    settings = _load(tmp_path, "")
    simulation = settings.config.simulation
    assert simulation.haircuts == {"BTC": Decimal("0.95"), "ETH": Decimal("0.95")}
    assert simulation.borrow_rate == Decimal("0.10")
    assert settings.config.paper.account == "segregated"


def test_a_unified_paper_account_needs_a_ratio_for_every_target(tmp_path: Path) -> None:
    assert _problems(tmp_path, 'account = "unified"\n') == [
        "simulation.haircuts has no collateral ratio for SOL; add it under [simulation], "
        "e.g. haircuts = { SOL = 0.8 }"
    ]
    extra = 'account = "unified"\n[simulation]\nhaircuts = { btc = 0.95, sol = 0.5 }\n'
    settings = _load(tmp_path, extra)
    assert settings.config.simulation.haircuts == {"BTC": Decimal("0.95"), "SOL": Decimal("0.5")}


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("[simulation]\nhaircuts = { BTC = 1.2 }\n", "BTC = 1.2 is out of range"),
        ("[simulation]\nborrow_rate = -0.1\n", "borrow_rate -0.1 is out of range"),
        ('account = "cross"\n', "paper.account"),
    ],
)
def test_bad_values_are_one_line_naming_the_field(tmp_path: Path, extra: str, words: str) -> None:
    problems = _problems(tmp_path, extra)
    assert len(problems) == 1
    assert words in problems[0]
