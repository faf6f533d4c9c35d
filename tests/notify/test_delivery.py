"""Sends are retried on transport errors, 429 and 5xx, bounded, and never raise or leak."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from rebalancer.notify import DeliveryPolicy
from rebalancer.notify.delivery import deliver
from rebalancer.notify.policy import parse_retry_after

from .helpers import NO_WAIT, SECRETS, SLACK_URL, T0, TG_URL, Waits, channels, make

SLACK = {"kind": "slack", "url_env": "SLACK_URL"}
TELEGRAM = {"kind": "telegram", "token_env": "TG_TOKEN", "chat_id": "1"}


def send(
    hook: dict[str, Any], policy: DeliveryPolicy = NO_WAIT, waits: Waits | None = None
) -> bool:
    (channel,) = channels(hook)

    async def go() -> bool:
        async with httpx.AsyncClient() as client:
            return await deliver(client, channel, make(), policy, sleep=waits or Waits())

    return asyncio.run(go())


@respx.mock
def test_server_errors_are_retried_until_the_service_accepts() -> None:
    route = respx.post(SLACK_URL)
    route.side_effect = [httpx.Response(502), httpx.Response(503), httpx.Response(200)]
    assert send(SLACK)
    assert route.call_count == 3


@respx.mock
def test_transport_errors_are_retried() -> None:
    route = respx.post(SLACK_URL)
    route.side_effect = [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.Response(200),
    ]
    assert send(SLACK)
    assert route.call_count == 3


@respx.mock
def test_429_waits_for_retry_after_from_the_header() -> None:
    route = respx.post(SLACK_URL)
    route.side_effect = [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200)]
    waits = Waits()
    assert send(SLACK, DeliveryPolicy(base_backoff=0, jitter=0), waits)
    assert waits.seconds == [7.0]


@respx.mock
def test_429_retry_after_is_capped() -> None:
    route = respx.post(SLACK_URL)
    route.side_effect = [httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200)]
    waits = Waits()
    assert send(SLACK, DeliveryPolicy(base_backoff=0, jitter=0, max_retry_after=20), waits)
    assert waits.seconds == [20.0]


@respx.mock
def test_telegram_429_waits_for_retry_after_from_the_body() -> None:
    route = respx.post(TG_URL)
    flood = {"ok": False, "error_code": 429, "parameters": {"retry_after": 5}}
    route.side_effect = [httpx.Response(429, json=flood), httpx.Response(200, json={"ok": True})]
    waits = Waits()
    assert send(TELEGRAM, DeliveryPolicy(base_backoff=0, jitter=0), waits)
    assert waits.seconds == [5.0]


@respx.mock
def test_backoff_grows_between_attempts() -> None:
    respx.post(SLACK_URL).respond(500)
    waits = Waits()
    policy = DeliveryPolicy(max_attempts=4, base_backoff=1, max_backoff=3, jitter=0)
    assert not send(SLACK, policy, waits)
    assert waits.seconds == [1.0, 2.0, 3.0]


@respx.mock
def test_gives_up_after_the_bound_and_logs_without_raising() -> None:
    route = respx.post(SLACK_URL).respond(500)
    with capture_logs() as logs:
        assert not send(SLACK)
    assert route.call_count == NO_WAIT.max_attempts
    failed = [e for e in logs if e["event"] == "notification_failed"]
    assert failed == [
        {
            "event": "notification_failed",
            "log_level": "warning",
            "channel": "slack:SLACK_URL",
            "kind": "cycle_done",
            "portfolio": "main",
            "attempts": 3,
            "status": 500,
            "error": "http_500",
        }
    ]


@respx.mock
def test_a_client_error_is_final_and_not_retried() -> None:
    route = respx.post(SLACK_URL).respond(404, text="no_service")
    with capture_logs() as logs:
        assert not send(SLACK)
    assert route.call_count == 1
    assert logs[-1]["status"] == 404


@respx.mock
def test_secrets_never_reach_the_logs() -> None:
    respx.post(SLACK_URL).side_effect = httpx.ConnectError(f"cannot reach {SLACK_URL}")
    respx.post(TG_URL).respond(500, text=f"bad {TG_URL}")
    with capture_logs() as logs:
        assert not send(SLACK)
        assert not send(TELEGRAM)
    assert {e["event"] for e in logs} == {"notification_retried", "notification_failed"}
    for secret in SECRETS:
        assert secret not in repr(logs)


@respx.mock
def test_an_unexpected_error_is_logged_not_raised() -> None:
    respx.post(SLACK_URL).side_effect = RuntimeError("bug")
    with capture_logs() as logs:
        assert not send(SLACK)
    assert logs[-1]["event"] == "notification_failed"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("12", 12.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("Sat, 01 Mar 2025 12:30:35 GMT", 30.0),
        ("Sat, 01 Mar 2025 12:00:00 GMT", 0.0),
        ("soon", None),
        ("nan", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, T0.replace(second=5)) == seconds
