"""The policies a backtest compares: doing nothing, rebalancing spot, and the futures overlay.

Each policy is a trigger (none, the config's calendar, or the config's drift band) and a way to
act (trade spot, or hedge through the planner, or hedge and roll into spot when collateral runs
short). The names are the ones the command line takes.
"""

from __future__ import annotations

from enum import Enum


class Trigger(Enum):
    NEVER = "never"
    CALENDAR = "calendar"
    BAND = "band"


class Action(Enum):
    NONE = "none"
    SPOT = "spot"
    OVERLAY = "overlay"
    ROLL = "roll"


class Policy(Enum):
    HOLD = "hold"
    SPOT_CALENDAR = "spot-calendar"
    SPOT_BAND = "spot-band"
    OVERLAY_CALENDAR = "overlay-calendar"
    OVERLAY_BAND = "overlay-band"
    ROLL = "roll"

    @property
    def trigger(self) -> Trigger:
        return _TRIGGERS[self]

    @property
    def action(self) -> Action:
        return _ACTIONS[self]

    @property
    def hedges(self) -> bool:
        """Overlay policies keep the cash weight as futures collateral and open perp hedges."""
        return self.action in (Action.OVERLAY, Action.ROLL)


_TRIGGERS = {
    Policy.HOLD: Trigger.NEVER,
    Policy.SPOT_CALENDAR: Trigger.CALENDAR,
    Policy.SPOT_BAND: Trigger.BAND,
    Policy.OVERLAY_CALENDAR: Trigger.CALENDAR,
    Policy.OVERLAY_BAND: Trigger.BAND,
    Policy.ROLL: Trigger.BAND,
}
_ACTIONS = {
    Policy.HOLD: Action.NONE,
    Policy.SPOT_CALENDAR: Action.SPOT,
    Policy.SPOT_BAND: Action.SPOT,
    Policy.OVERLAY_CALENDAR: Action.OVERLAY,
    Policy.OVERLAY_BAND: Action.OVERLAY,
    Policy.ROLL: Action.ROLL,
}

POLICY_NAMES = tuple(p.value for p in Policy)
