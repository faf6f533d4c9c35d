"""Channels read their secrets from the environment and never reveal them."""

from __future__ import annotations

from pathlib import Path

import pytest

from rebalancer.notify import NotificationKind, NotifyConfig, NotifySecretError, resolve_channels

from .helpers import ENV, SECRETS, TG_URL, channels


def test_each_webhook_becomes_a_channel_with_its_secret_url() -> None:
    slack, telegram = channels(
        {"kind": "slack", "url_env": "SLACK_URL", "events": ["cycle_failed"]},
        {"kind": "telegram", "token_env": "TG_TOKEN", "chat_id": "-100"},
    )
    assert slack.url.get_secret_value() == ENV["SLACK_URL"]
    assert slack.events == frozenset({NotificationKind.CYCLE_FAILED})
    assert telegram.url.get_secret_value() == TG_URL
    assert (slack.label, telegram.label) == ("slack:SLACK_URL", "telegram:TG_TOKEN")


def test_reprs_show_no_secret() -> None:
    found = channels(
        {"kind": "slack", "url_env": "SLACK_URL"},
        {"kind": "telegram", "token_env": "TG_TOKEN", "chat_id": "-100"},
    )
    for secret in SECRETS:
        assert secret not in repr(found)


def test_a_missing_variable_is_named_in_one_line() -> None:
    config = NotifyConfig.model_validate({"webhooks": [{"kind": "discord", "url_env": "NOPE"}]})
    with pytest.raises(NotifySecretError) as caught:
        resolve_channels(config, ENV)
    message = str(caught.value)
    assert message.startswith("notify.webhooks[0] (discord): environment variable NOPE is not set")
    assert "\n" not in message


def test_a_secret_may_come_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "url"
    path.write_text(ENV["JSON_URL"] + "\n", encoding="utf-8")
    config = NotifyConfig.model_validate({"webhooks": [{"kind": "json", "url_env": "HOOK"}]})
    (channel,) = resolve_channels(config, {"HOOK_FILE": str(path)})
    assert channel.url.get_secret_value() == ENV["JSON_URL"]


def test_a_value_that_is_not_a_url_is_refused_without_echoing_it() -> None:
    config = NotifyConfig.model_validate({"webhooks": [{"kind": "slack", "url_env": "HOOK"}]})
    with pytest.raises(NotifySecretError, match="HOOK does not hold an http") as caught:
        resolve_channels(config, {"HOOK": "ftp://SECRETISH/x"})
    assert "SECRETISH" not in str(caught.value)


def test_a_malformed_bot_token_is_refused_without_echoing_it() -> None:
    config = NotifyConfig.model_validate(
        {"webhooks": [{"kind": "telegram", "token_env": "TOKEN", "chat_id": "1"}]}
    )
    with pytest.raises(NotifySecretError, match="TOKEN does not look like a bot token") as caught:
        resolve_channels(config, {"TOKEN": "1:abc/../../SECRETISH"})
    assert "SECRETISH" not in str(caught.value)
