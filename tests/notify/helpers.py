"""Shared values for the notification tests: a notification maker, secrets, a no-wait sleep."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import respx

from rebalancer.notify import (
    DeliveryPolicy,
    Notification,
    NotificationKind,
    Notifier,
    NotifyConfig,
    Severity,
    resolve_channels,
)
from rebalancer.notify.channel import Channel

T0 = datetime(2025, 3, 1, 12, 30, 5, tzinfo=UTC)
SLACK_URL = "https://hooks.slack.com/services/T000/B000/SLACKSECRET123"
DISCORD_URL = "https://discord.com/api/webhooks/42/DISCORDSECRET456"
JSON_URL = "https://hooks.example.test/notify?key=JSONSECRET789"
TG_TOKEN = "123456:TGSECRETabc"  # noqa: S105 -- a fake, to prove it never leaks
TG_URL = f"https://api.telegram.org/bot{TG_TOKEN}/sendMessage"
SECRETS = ("SLACKSECRET123", "DISCORDSECRET456", "JSONSECRET789", "TGSECRETabc")
ENV = {
    "SLACK_URL": SLACK_URL,
    "DISCORD_URL": DISCORD_URL,
    "JSON_URL": JSON_URL,
    "TG_TOKEN": TG_TOKEN,
}
NO_WAIT = DeliveryPolicy(max_attempts=3, base_backoff=0, max_backoff=0, jitter=0)


def make(
    kind: NotificationKind = NotificationKind.CYCLE_DONE,
    severity: Severity = Severity.INFO,
    **changes: Any,
) -> Notification:
    values: dict[str, Any] = {
        "portfolio": "main",
        "title": "Rebalanced",
        "text": "2 orders filled",
        "at": T0,
        "fields": (("BTC", "-1000 USDT"), ("ETH", "+1000 USDT")),
    }
    values.update(changes)
    return Notification(kind=kind, severity=severity, **values)


def channels(*hooks: dict[str, Any]) -> list[Channel]:
    return resolve_channels(NotifyConfig.model_validate({"webhooks": list(hooks)}), ENV)


class Waits:
    """A sleep that records what it was asked to wait and returns at once."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def received(hook: dict[str, Any], url: str, n: Notification) -> Any:
    """The JSON body the service at `url` receives when `n` goes out through `hook`."""
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(url).respond(200, json={"ok": True})
        asyncio.run(_notify(channels(hook), n))
    return json.loads(route.calls.last.request.content)


async def _notify(found: list[Channel], n: Notification) -> None:
    async with Notifier(found, NO_WAIT) as notifier:
        await notifier.notify(n)
