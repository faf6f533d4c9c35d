"""`hedging.cap_slack`: reaches the strategy; a fraction in [0, 0.5], with or without a buffer."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from rebalancer.config import ConfigError
from rebalancer.config.summary import render_summary
from tests.unit.config.test_policy_config import _load


def test_the_slack_is_off_by_default_and_reaches_the_strategy(tmp_path: Path) -> None:
    assert _load(tmp_path, "").strategy.cap_slack == 0
    settings = _load(tmp_path, "[hedging]\ncollateral_buffer = 0.05\ncap_slack = 0.05\n")
    assert settings.strategy.cap_slack == Decimal("0.05")
    assert settings.strategy.collateral_buffer == Decimal("0.05")


def test_a_slack_needs_no_buffer(tmp_path: Path) -> None:
    settings = _load(tmp_path, "[hedging]\ncap_slack = 0.05\n")
    assert settings.strategy.cap_slack == Decimal("0.05")
    assert settings.strategy.collateral_buffer == 0


@pytest.mark.parametrize(
    "section",
    ["[hedging]\ncap_slack = -0.01\n", "[hedging]\ncollateral_buffer = 0.05\ncap_slack = 0.6\n"],
)
def test_a_slack_out_of_range_is_one_line_naming_the_field(tmp_path: Path, section: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, section)
    (problem,) = info.value.problems
    problem = problem.replace("Value error, ", "")
    assert problem.startswith("hedging.cap_slack: cap_slack "), problem
    assert "[0, 0.5]" in problem
    assert "\n" not in problem


@pytest.mark.parametrize(
    ("section", "line"),
    [
        (
            "[hedging]\ncap_slack = 0.05\n",
            "cap: while capped, hedges held within 5 % under the cap, never over max_leverage",
        ),
        ("[hedging]\ncollateral_buffer = 0.02\n", "cap: 2 % of collateral kept free"),
        (
            "[hedging]\ncollateral_buffer = 0.02\ncap_slack = 0.02\n",
            "cap: 2 % of collateral kept free; while capped, hedges held within 2 % of the cap "
            "either side, never over max_leverage",
        ),
    ],
)
def test_the_summary_says_what_the_cap_keeps_and_holds(
    tmp_path: Path, section: str, line: str
) -> None:
    console = Console(width=200, record=True)
    console.print(render_summary(_load(tmp_path, section)))
    lines = [text.strip() for text in console.export_text().splitlines()]
    assert line in lines
