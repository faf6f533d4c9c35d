"""What a policy did in a run, or was about to do, as the notifier announces it.

A run's `CycleResult.policies` holds one note per policy that acted (a roll performed or
finished, quote moved) or was about to and did not (a roll due in a dry-run, on a venue
without spot orders, or whose spot trades cannot be placed; a top-up refused or failed). The
daemon and `once` send each as a `policy` notification, once per run; the daemon does not
repeat an unchanged "about to" note every cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rebalancer.notify import Notification, NotificationKind, Severity

_TITLES = {
    ("roll", True): "Roll performed",
    ("roll", False): "Roll due, not performed",
    ("top-up", True): "Collateral moved",
    ("top-up", False): "Top-up not performed",
}


@dataclass(frozen=True, slots=True)
class PolicyNote:
    policy: str  # "roll" | "top-up"
    acted: bool
    text: str

    @property
    def title(self) -> str:
        return _TITLES[self.policy, self.acted]

    def notification(self, portfolio: str, run_id: str | None, at: datetime) -> Notification:
        text = self.text if run_id is None else f"run {run_id}: {self.text}"
        return Notification(
            NotificationKind.POLICY, portfolio, self.title, text, at, severity=Severity.WARNING
        )
