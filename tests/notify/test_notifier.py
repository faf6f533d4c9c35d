"""The notifier fans out concurrently, filters, runs in the background and drains at shutdown."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from rebalancer.notify import (
    Notification,
    NotificationKind,
    Notifier,
    NotifyConfig,
    NotifySecretError,
    NullNotifier,
    Severity,
    build_notifier,
)

from .helpers import DISCORD_URL, ENV, NO_WAIT, SECRETS, SLACK_URL, channels, make

SLACK = {"kind": "slack", "url_env": "SLACK_URL"}
DISCORD = {"kind": "discord", "url_env": "DISCORD_URL"}


def notify_all(notifier: Notifier, *ns: Notification) -> None:
    async def go() -> None:
        async with notifier:
            for n in ns:
                await notifier.notify(n)

    asyncio.run(go())


@respx.mock
def test_channels_are_sent_to_concurrently() -> None:
    both_arrived = asyncio.Event()
    arrived: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        arrived.append(request.url.host)
        if len(arrived) == 2:
            both_arrived.set()
        await asyncio.wait_for(both_arrived.wait(), timeout=2)  # a serial fan-out would stall
        return httpx.Response(204)

    respx.post(SLACK_URL).side_effect = answer
    respx.post(DISCORD_URL).side_effect = answer
    notify_all(Notifier(channels(SLACK, DISCORD), NO_WAIT), make())
    assert sorted(arrived) == ["discord.com", "hooks.slack.com"]


@respx.mock
def test_a_failing_channel_does_not_stop_the_others() -> None:
    respx.post(SLACK_URL).respond(500)
    discord = respx.post(DISCORD_URL).respond(204)
    with capture_logs():
        notify_all(Notifier(channels(SLACK, DISCORD), NO_WAIT), make())
    assert discord.call_count == 1


@respx.mock
def test_events_filter_and_min_severity_choose_the_channels() -> None:
    slack = respx.post(SLACK_URL).respond(200)
    discord = respx.post(DISCORD_URL).respond(204)
    notifier = Notifier(
        channels(
            {**SLACK, "events": ["cycle_failed"]},
            {**DISCORD, "min_severity": "warning"},
        ),
        NO_WAIT,
    )
    notify_all(
        notifier,
        make(NotificationKind.CYCLE_DONE, Severity.INFO),  # neither
        make(NotificationKind.CYCLE_FAILED, Severity.INFO),  # slack only
        make(NotificationKind.MARGIN_WARNING, Severity.WARNING),  # discord only
        make(NotificationKind.CYCLE_FAILED, Severity.CRITICAL),  # both
    )
    assert (slack.call_count, discord.call_count) == (2, 2)


@respx.mock
def test_background_delivery_returns_at_once_and_drain_waits_for_it() -> None:
    gate = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        await gate.wait()
        return httpx.Response(200)

    route = respx.post(SLACK_URL)
    route.side_effect = slow

    async def go() -> tuple[int, bool, int]:
        async with Notifier(channels(SLACK), NO_WAIT) as notifier:
            notifier.notify_in_background(make())
            notifier.notify_in_background(make())
            await asyncio.sleep(0)
            in_flight = notifier.pending
            gate.set()
            return in_flight, await notifier.drain(timeout=2), notifier.pending

    assert asyncio.run(go()) == (2, True, 0)
    assert route.call_count == 2


@respx.mock
def test_drain_gives_up_after_its_timeout_and_cancels_the_rest() -> None:
    async def never(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(60)
        return httpx.Response(200)

    respx.post(SLACK_URL).side_effect = never

    async def go() -> tuple[bool, int]:
        async with Notifier(channels(SLACK), NO_WAIT) as notifier:
            notifier.notify_in_background(make())
            await asyncio.sleep(0)
            return await notifier.drain(timeout=0.05), notifier.pending

    with capture_logs() as logs:
        assert asyncio.run(go()) == (False, 0)
    assert logs[-1] == {
        "event": "notifications_abandoned",
        "log_level": "warning",
        "count": 1,
        "timeout_s": 0.05,
    }


def test_background_delivery_without_a_loop_is_dropped_and_logged() -> None:
    notifier = Notifier(channels(SLACK), NO_WAIT)
    with capture_logs() as logs:
        notifier.notify_in_background(make())
    asyncio.run(notifier.aclose())
    assert logs[0]["reason"] == "no_running_loop"


def test_repr_names_channels_not_urls() -> None:
    notifier = Notifier(channels(SLACK, DISCORD), NO_WAIT)
    asyncio.run(notifier.aclose())
    assert repr(notifier) == "Notifier(channels=['slack:SLACK_URL', 'discord:DISCORD_URL'])"
    for secret in SECRETS:
        assert secret not in repr(notifier)


def test_no_webhooks_build_a_null_notifier() -> None:
    notifier = build_notifier(NotifyConfig(), {})
    assert isinstance(notifier, NullNotifier)

    async def go() -> bool:
        await notifier.notify(make())
        notifier.notify_in_background(make())
        drained = await notifier.drain(timeout=0)
        await notifier.aclose()
        return drained

    assert asyncio.run(go())


def test_building_with_a_missing_secret_fails_at_start_up() -> None:
    config = NotifyConfig.model_validate({"webhooks": [SLACK]})
    with pytest.raises(NotifySecretError, match="SLACK_URL is not set"):
        build_notifier(config, {})


def test_building_with_secrets_gives_a_notifier() -> None:
    config = NotifyConfig.model_validate({"webhooks": [SLACK, DISCORD]})
    notifier = build_notifier(config, ENV)
    assert isinstance(notifier, Notifier)
    asyncio.run(notifier.aclose())


@respx.mock
def test_httpx_request_lines_with_the_url_stay_out_of_stdlib_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    respx.post(SLACK_URL).respond(200)
    caplog.set_level(logging.DEBUG)
    notify_all(Notifier(channels(SLACK), NO_WAIT), make())
    for secret in SECRETS:
        assert secret not in caplog.text
