"""A resolved destination: where to POST (a secret URL), how to format, which events to send.

A `Channel` is built from config plus the environment by `resolve.py`. Its `label` names the
service and the environment variable, never the URL, so it is what logs and reprs show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from rebalancer.notify.message import Notification, NotificationKind, Severity

Formatter = Callable[[Notification], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Channel:
    kind: str
    label: str
    url: SecretStr
    format: Formatter = field(repr=False)
    events: frozenset[NotificationKind] | None = None
    min_severity: Severity = Severity.INFO

    def wants(self, n: Notification) -> bool:
        """Whether `n` passes this channel's event filter and severity threshold."""
        if self.events is not None and n.kind not in self.events:
            return False
        return n.severity.at_least(self.min_severity)

    def payload(self, n: Notification) -> dict[str, Any]:
        return self.format(n)
