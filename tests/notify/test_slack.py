"""Slack receives a text fallback and Block Kit blocks, escaped and within its limits."""

from __future__ import annotations

from rebalancer.notify import NotificationKind, Severity
from rebalancer.notify.slack import slack_payload

from .helpers import SLACK_URL, make, received

HOOK = {"kind": "slack", "url_env": "SLACK_URL"}


def test_slack_receives_fallback_text_and_blocks() -> None:
    n = make(NotificationKind.MARGIN_WARNING, Severity.WARNING, title="Margin low")
    assert received(HOOK, SLACK_URL, n) == {
        "text": "[warning] main: Margin low",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Margin low"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "2 orders filled"}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*BTC*\n-1000 USDT"},
                    {"type": "mrkdwn", "text": "*ETH*\n+1000 USDT"},
                ],
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": ":warning: warning · main · margin_warning · 2025-03-01T12:30:05Z",
                    }
                ],
            },
        ],
    }


def test_control_characters_are_escaped_so_no_mention_or_link_is_injected() -> None:
    payload = slack_payload(make(text="<!channel> & <https://evil|click>"))
    section = payload["blocks"][1]["text"]["text"]
    assert section == "&lt;!channel&gt; &amp; &lt;https://evil|click&gt;"


def test_blocks_respect_slack_limits() -> None:
    n = make(
        title="T" * 500,
        text="&" * 5000,
        fields=tuple((f"n{i}", "v" * 3000) for i in range(15)),
    )
    blocks = slack_payload(n)["blocks"]
    assert len(blocks[0]["text"]["text"]) <= 150
    assert len(blocks[1]["text"]["text"]) <= 3000
    assert blocks[1]["text"]["text"].endswith("&amp;…")
    assert len(blocks[2]["fields"]) == 10
    assert all(len(f["text"]) <= 2000 for f in blocks[2]["fields"])


def test_a_notification_without_text_or_fields_has_no_empty_blocks() -> None:
    blocks = slack_payload(make(text="", fields=()))["blocks"]
    assert [b["type"] for b in blocks] == ["header", "context"]
