"""Discord webhook body: a one-line `content` plus one embed, with mentions disabled.

Limits: content 2,000; embed title 256, description 4,096, 25 fields of name 256 and value 1,024,
footer 2,048, and 6,000 characters across the whole embed; fields that do not fit are dropped
and the description is cut to what remains. `allowed_mentions` stops an `@everyone` in an error
text from pinging a server.
"""

from __future__ import annotations

from typing import Any

from rebalancer.notify.message import Notification, Severity
from rebalancer.notify.text import fit

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_LIMIT = 6000
MAX_FIELDS = 25
_COLOUR = {Severity.INFO: 0x2E86DE, Severity.WARNING: 0xF39C12, Severity.CRITICAL: 0xE74C3C}
_BLANK = "-"  # Discord rejects empty field names and values


def discord_payload(n: Notification) -> dict[str, Any]:
    title = fit(n.title, TITLE_LIMIT)
    footer = fit(f"{n.portfolio} · {n.kind.value} · {n.severity.value}", FOOTER_LIMIT)
    budget = EMBED_LIMIT - len(title) - len(footer)
    fields: list[dict[str, Any]] = []
    for name, value in n.fields[:MAX_FIELDS]:
        field_name = fit(name or _BLANK, FIELD_NAME_LIMIT)
        field_value = fit(value or _BLANK, FIELD_VALUE_LIMIT)
        size = len(field_name) + len(field_value)
        if size > budget:
            break
        fields.append({"name": field_name, "value": field_value, "inline": True})
        budget -= size
    embed: dict[str, Any] = {
        "title": title,
        "color": _COLOUR[n.severity],
        "timestamp": n.at_iso,
        "footer": {"text": footer},
    }
    description = fit(n.text, min(DESCRIPTION_LIMIT, budget))
    if description:
        embed["description"] = description
    if fields:
        embed["fields"] = fields
    content = fit(f"[{n.severity.value}] {n.portfolio}: {n.title}", CONTENT_LIMIT)
    return {"content": content, "embeds": [embed], "allowed_mentions": {"parse": []}}
