"""The generic webhook receives the notification as stable, versioned JSON."""

from __future__ import annotations

from rebalancer.notify import NotificationKind, Severity

from .helpers import JSON_URL, make, received

HOOK = {"kind": "json", "url_env": "JSON_URL"}


def test_the_receiver_gets_every_field_under_stable_keys() -> None:
    n = make(NotificationKind.CYCLE_FAILED, Severity.CRITICAL, title="Cycle failed")
    assert received(HOOK, JSON_URL, n) == {
        "version": 1,
        "kind": "cycle_failed",
        "severity": "critical",
        "portfolio": "main",
        "title": "Cycle failed",
        "text": "2 orders filled",
        "at": "2025-03-01T12:30:05Z",
        "fields": [
            {"name": "BTC", "value": "-1000 USDT"},
            {"name": "ETH", "value": "+1000 USDT"},
        ],
    }


def test_text_is_sent_unescaped_and_uncut() -> None:
    text = "<b>&</b> " * 2000
    assert received(HOOK, JSON_URL, make(text=text))["text"] == text
