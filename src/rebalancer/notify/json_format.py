"""The generic webhook body: the notification as stable, versioned JSON.

Keys and their meaning only ever grow; a receiver may rely on `version` to detect a change.
"""

from __future__ import annotations

from typing import Any

from rebalancer.notify.message import Notification

JSON_VERSION = 1


def json_payload(n: Notification) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "kind": n.kind.value,
        "severity": n.severity.value,
        "portfolio": n.portfolio,
        "title": n.title,
        "text": n.text,
        "at": n.at_iso,
        "fields": [{"name": name, "value": value} for name, value in n.fields],
    }
