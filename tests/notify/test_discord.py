"""Discord receives content plus one embed, within its limits and unable to ping anyone."""

from __future__ import annotations

from rebalancer.notify import NotificationKind, Severity
from rebalancer.notify.discord import discord_payload

from .helpers import DISCORD_URL, make, received

HOOK = {"kind": "discord", "url_env": "DISCORD_URL"}


def test_discord_receives_content_and_an_embed() -> None:
    n = make(NotificationKind.CYCLE_FAILED, Severity.CRITICAL, title="Cycle failed")
    assert received(HOOK, DISCORD_URL, n) == {
        "content": "[critical] main: Cycle failed",
        "embeds": [
            {
                "title": "Cycle failed",
                "color": 0xE74C3C,
                "timestamp": "2025-03-01T12:30:05Z",
                "footer": {"text": "main · cycle_failed · critical"},
                "description": "2 orders filled",
                "fields": [
                    {"name": "BTC", "value": "-1000 USDT", "inline": True},
                    {"name": "ETH", "value": "+1000 USDT", "inline": True},
                ],
            }
        ],
        "allowed_mentions": {"parse": []},
    }


def embed_size(embed: dict[str, object]) -> int:
    fields = embed.get("fields", [])
    assert isinstance(fields, list)
    footer = embed["footer"]
    assert isinstance(footer, dict)
    return (
        len(str(embed["title"]))
        + len(str(embed.get("description", "")))
        + len(footer["text"])
        + sum(len(f["name"]) + len(f["value"]) for f in fields)
    )


def test_a_huge_notification_fits_discords_embed_limits() -> None:
    n = make(
        title="T" * 400,
        text="x" * 9000,
        fields=tuple((f"name{i}" * 60, "v" * 2000) for i in range(40)),
    )
    payload = discord_payload(n)
    embed = payload["embeds"][0]
    assert len(embed["title"]) <= 256
    assert len(embed["fields"]) <= 25
    assert all(len(f["name"]) <= 256 and len(f["value"]) <= 1024 for f in embed["fields"])
    assert embed_size(embed) <= 6000
    assert len(payload["content"]) <= 2000


def test_empty_field_parts_are_replaced_because_discord_rejects_them() -> None:
    embed = discord_payload(make(fields=(("", ""),)))["embeds"][0]
    assert embed["fields"] == [{"name": "-", "value": "-", "inline": True}]
