"""What a notification says, independent of where it goes: its kind, severity and content.

A `Notification` is a frozen value built by the daemon; each channel formats the same value in
its own service's dialect. Severities are ordered so a channel can ask for "warning and above".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum


class NotificationKind(Enum):
    CYCLE_DONE = "cycle_done"
    CYCLE_FAILED = "cycle_failed"
    CYCLE_SKIPPED = "cycle_skipped"
    CIRCUIT_OPEN = "circuit_open"
    MARGIN_WARNING = "margin_warning"
    POLICY = "policy"  # a configured policy (roll) acts or is about to
    DAEMON_STARTED = "daemon_started"
    DAEMON_STOPPED = "daemon_stopped"


class Severity(Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}

# What each kind usually deserves; the daemon may still choose another severity.
DEFAULT_SEVERITY: dict[NotificationKind, Severity] = {
    NotificationKind.CYCLE_DONE: Severity.INFO,
    NotificationKind.CYCLE_FAILED: Severity.CRITICAL,
    NotificationKind.CYCLE_SKIPPED: Severity.INFO,
    NotificationKind.CIRCUIT_OPEN: Severity.CRITICAL,
    NotificationKind.MARGIN_WARNING: Severity.WARNING,
    NotificationKind.POLICY: Severity.WARNING,
    NotificationKind.DAEMON_STARTED: Severity.INFO,
    NotificationKind.DAEMON_STOPPED: Severity.WARNING,
}


@dataclass(frozen=True, slots=True)
class Notification:
    """One event to announce; `fields` are (name, value) pairs shown as a small table."""

    kind: NotificationKind
    portfolio: str
    title: str
    text: str
    at: datetime
    fields: tuple[tuple[str, str], ...] = ()
    severity: Severity = Severity.INFO

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise ValueError("notification title is empty; every service needs one")
        if self.at.tzinfo is None or self.at.utcoffset() != timedelta(0):
            raise ValueError(f"notification time {self.at.isoformat()} must be aware UTC")

    @property
    def at_iso(self) -> str:
        """The time as ISO 8601 with a `Z`, second precision."""
        return self.at.replace(microsecond=0).isoformat().replace("+00:00", "Z")
