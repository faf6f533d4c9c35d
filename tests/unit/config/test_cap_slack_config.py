"""`hedging.cap_slack`: reaches the strategy, and must keep the held gross within max_leverage."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from rebalancer.config import ConfigError
from tests.unit.config.test_policy_config import _load


def test_the_slack_is_off_by_default_and_reaches_the_strategy(tmp_path: Path) -> None:
    assert _load(tmp_path, "").strategy.cap_slack == 0
    settings = _load(tmp_path, "[hedging]\ncollateral_buffer = 0.05\ncap_slack = 0.05\n")
    assert settings.strategy.cap_slack == Decimal("0.05")
    assert settings.strategy.collateral_buffer == Decimal("0.05")


@pytest.mark.parametrize(
    "section",
    [
        "[hedging]\ncap_slack = 0.05\n",  # no buffer: the held gross could reach 1.05x
        "[hedging]\ncollateral_buffer = 0.02\ncap_slack = 0.05\n",
        "[hedging]\ncollateral_buffer = 0.05\ncap_slack = -0.01\n",
    ],
)
def test_a_slack_that_could_exceed_max_leverage_is_one_line_naming_the_field(
    tmp_path: Path, section: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, section)
    (problem,) = info.value.problems
    problem = problem.replace("Value error, ", "")
    assert problem.startswith("hedging: cap_slack ")
    assert "collateral_buffer" in problem
    assert "\n" not in problem
