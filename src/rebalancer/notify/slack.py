"""Slack incoming-webhook body: a plain `text` fallback plus Block Kit blocks.

Slack's mrkdwn treats `&`, `<` and `>` as control characters (links, mentions), so user text is
escaped before it is cut to the block limits: header 150, section 3,000, a field 2,000, at most
10 fields per section.
"""

from __future__ import annotations

from typing import Any

from rebalancer.notify.message import Notification, Severity
from rebalancer.notify.text import fit

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_FIELDS = 10
_ICON = {Severity.INFO: ":information_source:", Severity.WARNING: ":warning:"}
_CRITICAL_ICON = ":rotating_light:"


def escape_mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(n: Notification) -> dict[str, Any]:
    icon = _ICON.get(n.severity, _CRITICAL_ICON)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": fit(n.title, HEADER_LIMIT)}},
    ]
    if n.text:
        blocks.append(_mrkdwn_section(fit(n.text, SECTION_LIMIT, escape_mrkdwn)))
    if n.fields:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": _field(name, value)}
                    for name, value in n.fields[:MAX_FIELDS]
                ],
            }
        )
    context = f"{icon} {n.severity.value} · {n.portfolio} · {n.kind.value} · {n.at_iso}"
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": fit(context, SECTION_LIMIT, escape_mrkdwn)}],
        }
    )
    fallback = f"[{n.severity.value}] {n.portfolio}: {n.title}"
    return {"text": fit(fallback, SECTION_LIMIT, escape_mrkdwn), "blocks": blocks}


def _mrkdwn_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _field(name: str, value: str) -> str:
    label = fit(name, 200, escape_mrkdwn)
    room = FIELD_LIMIT - len(label) - 3  # "*", "*" and the newline
    return f"*{label}*\n{fit(value, room, escape_mrkdwn)}"
