"""The top-up policy's decision: move quote from spot to the futures wallet, or why not.

Pure: every entry point that runs a cycle (`once`, the daemon's cycles, fleet jobs) asks this
once per run, and the daemon asks it on a margin alert between cycles; one service function
(`service.top_up`) does the moving. The policy acts when the margin distance is below the
alert distance (`safety.margin_alert_distance`), moving at most `safety.top_up_max` of the
spot quote. A unified account has no futures wallet to move to, and paper mode moves nothing
(its simulated wallets are what `[paper]` says).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from rebalancer.domain.margin import MarginHealth

ZERO = Decimal(0)


class TopUpAction(Enum):
    MOVE = "move"
    IDLE = "idle"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class TopUpRules:
    enabled: bool = False
    most: Decimal = ZERO  # safety.top_up_max, in the quote
    alert_distance: Decimal = Decimal("0.25")


@dataclass(frozen=True, slots=True)
class TopUpDecision:
    action: TopUpAction
    amount: Decimal  # what to move (MOVE), else 0
    reason: str

    def describe(self, quote: str) -> str:
        """One line for the journal and the notes: "top-up: move ..." / "top-up idle: ..."."""
        if self.action is TopUpAction.MOVE:
            return f"top-up: move {self.amount:f} {quote} from spot to futures ({self.reason})"
        return f"top-up {self.action.value}: {self.reason}"


def decide_top_up(
    health: MarginHealth, spot_quote: Decimal, rules: TopUpRules, *, mode: str
) -> TopUpDecision | None:
    """What the top-up policy does now (None: the policy is off). `spot_quote` is the quote
    held in spot on the exchange; `mode` the run's (live, paper, dry-run)."""
    if not rules.enabled:
        return None
    if health.unified:  # never possible here: said in every run, whatever the margin
        return TopUpDecision(
            TopUpAction.REFUSED, ZERO, "unified account: no futures wallet to move quote to"
        )
    if mode == "paper":
        return TopUpDecision(TopUpAction.REFUSED, ZERO, "paper mode moves no quote")
    alert = rules.alert_distance
    if not health.below(alert):
        where = (
            "no position" if health.distance is None else f"margin distance {health.distance:.1%}"
        )
        return TopUpDecision(TopUpAction.IDLE, ZERO, f"{where}, alert below {alert:.0%}")
    amount = min(rules.most, max(spot_quote, ZERO))
    if amount <= 0:
        return TopUpDecision(TopUpAction.IDLE, ZERO, "no quote in spot to move")
    why = f"margin distance {health.distance:.1%} below the alert at {alert:.0%}"
    return TopUpDecision(TopUpAction.MOVE, amount, why)
