"""Telegram Bot API `sendMessage` body, in HTML parse mode.

HTML mode needs only `&`, `<` and `>` escaped, which is sturdier than MarkdownV2's eighteen
special characters. The 4,096 limit is counted in UTF-16 units; this module keeps the escaped
text itself under it, which is stricter than Telegram's count after parsing, and cuts the free
text first so the title, the fields and the footer survive.
"""

from __future__ import annotations

import html
from typing import Any

from rebalancer.notify.message import Notification
from rebalancer.notify.text import fit, utf16_len

API_BASE = "https://api.telegram.org"
MESSAGE_LIMIT = 4096
FIELD_VALUE_LIMIT = 300
MAX_FIELDS = 20
TITLE_LIMIT = 256
FOOTER_LIMIT = 300
BODY_RESERVE = 1000  # fields stop early enough to leave the free text this much room


def escape_html(text: str) -> str:
    return html.escape(text, quote=False)


def send_message_url(token: str) -> str:
    return f"{API_BASE}/bot{token}/sendMessage"


def telegram_payload(n: Notification, chat_id: str) -> dict[str, Any]:
    return {
        "chat_id": chat_id,
        "text": telegram_text(n),
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }


def telegram_text(n: Notification) -> str:
    head = f"<b>{fit(n.title, TITLE_LIMIT, escape_html)}</b>"
    about = f"{n.portfolio} · {n.kind.value} · {n.severity.value} · {n.at_iso}"
    footer = f"<i>{fit(about, FOOTER_LIMIT, escape_html)}</i>"
    used = utf16_len(head) + utf16_len(footer) + 4  # the newlines between the parts
    rows: list[str] = []
    for name, value in n.fields[:MAX_FIELDS]:
        row = f"<b>{fit(name, 64, escape_html)}</b>: {fit(value, FIELD_VALUE_LIMIT, escape_html)}"
        size = utf16_len(row) + 1
        if used + size > MESSAGE_LIMIT - BODY_RESERVE:
            break
        rows.append(row)
        used += size
    body = fit(n.text, MESSAGE_LIMIT - used, escape_html, utf16_len)
    parts = [head, body, "", *rows, footer] if body else [head, "", *rows, footer]
    return "\n".join(parts)
