"""The top-up policy's decision (pure): move quote to the futures wallet when the margin
distance is below its alert, at most `top_up_max` and what spot holds; refused on a unified
account and in paper mode (in every run: it can never act there); idle otherwise, with its
reason."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rebalancer.domain.margin import MarginHealth
from rebalancer.domain.top_up import TopUpAction, TopUpRules, decide_top_up

D = Decimal
ON = TopUpRules(enabled=True, most=D(100), alert_distance=D("0.25"))


def _health(distance: str | None, *, unified: bool = False) -> MarginHealth:
    return MarginHealth(
        futures_equity=D(100),
        gross=D(250),
        maintenance=D(1),
        leverage=D("2.5"),
        distance=None if distance is None else D(distance),
        positions=(),
        unified=unified,
    )


def test_off_decides_nothing() -> None:
    assert decide_top_up(_health("0.1"), D(500), TopUpRules(), mode="live") is None


@pytest.mark.parametrize(
    ("spot", "moved"), [("500", "100"), ("40", "40"), ("100", "100"), ("0", None)]
)
def test_below_the_alert_it_moves_at_most_top_up_max_and_what_spot_holds(
    spot: str, moved: str | None
) -> None:
    decision = decide_top_up(_health("0.1"), D(spot), ON, mode="live")
    assert decision is not None
    if moved is None:
        assert decision.action is TopUpAction.IDLE
        assert decision.describe("USDT") == "top-up idle: no quote in spot to move"
    else:
        assert decision.action is TopUpAction.MOVE
        assert decision.amount == D(moved)
        assert decision.describe("USDT").startswith(f"top-up: move {moved} USDT from spot")


@pytest.mark.parametrize("distance", ["0.25", "0.9", None])
def test_at_or_above_the_alert_or_without_positions_it_is_idle(distance: str | None) -> None:
    decision = decide_top_up(_health(distance), D(500), ON, mode="live")
    assert decision is not None
    assert decision.action is TopUpAction.IDLE
    assert decision.amount == 0
    assert decision.describe("USDT").startswith("top-up idle: ")


@pytest.mark.parametrize("distance", ["0.1", "0.9"])
def test_a_unified_account_and_paper_mode_refuse_whatever_the_margin(distance: str) -> None:
    unified = decide_top_up(_health(distance, unified=True), D(500), ON, mode="live")
    paper = decide_top_up(_health(distance), D(500), ON, mode="paper")
    assert unified is not None
    assert paper is not None
    assert unified.action is paper.action is TopUpAction.REFUSED
    assert "unified account" in unified.describe("USDT")
    assert "paper" in paper.describe("USDT")


def test_a_dry_run_decides_like_a_live_run() -> None:
    decision = decide_top_up(_health("0.1"), D(500), ON, mode="dry-run")
    assert decision is not None
    assert decision.action is TopUpAction.MOVE  # the service says "would move"; nothing moves
