"""Telegram receives an HTML-mode message, escaped, within 4,096 UTF-16 units."""

from __future__ import annotations

import re

from rebalancer.notify import NotificationKind, Severity
from rebalancer.notify.telegram import telegram_text
from rebalancer.notify.text import utf16_len

from .helpers import TG_URL, make, received

HOOK = {"kind": "telegram", "token_env": "TG_TOKEN", "chat_id": -1001}


def test_telegram_receives_chat_id_html_text_and_no_preview() -> None:
    n = make(NotificationKind.CIRCUIT_OPEN, Severity.CRITICAL, title="Circuit open")
    assert received(HOOK, TG_URL, n) == {
        "chat_id": "-1001",
        "text": (
            "<b>Circuit open</b>\n2 orders filled\n\n"
            "<b>BTC</b>: -1000 USDT\n<b>ETH</b>: +1000 USDT\n"
            "<i>main · circuit_open · critical · 2025-03-01T12:30:05Z</i>"
        ),
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }


def test_html_special_characters_are_escaped_everywhere() -> None:
    text = telegram_text(
        make(title="a<b>", text="x & y </b>", fields=(("<i>", "1 > 0"),), portfolio="p&q")
    )
    assert text == (
        "<b>a&lt;b&gt;</b>\nx &amp; y &lt;/b&gt;\n\n"
        "<b>&lt;i&gt;</b>: 1 &gt; 0\n"
        "<i>p&amp;q · cycle_done · info · 2025-03-01T12:30:05Z</i>"
    )


def test_quotes_are_left_alone_outside_attributes() -> None:
    assert '"it\'s"' in telegram_text(make(text='"it\'s"'))


def test_a_long_message_is_cut_in_the_free_text_and_keeps_its_footer() -> None:
    n = make(text="🚀&" * 5000, fields=tuple((f"f{i}", "v" * 500) for i in range(30)))
    text = telegram_text(n)
    assert utf16_len(text) <= 4096
    assert text.endswith("2025-03-01T12:30:05Z</i>")
    body = text.split("\n")[1]
    assert body.endswith("…")
    assert re.search(r"&[a-z]*…$", body) is None  # no escape cut in half
