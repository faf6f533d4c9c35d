"""The [notify] section validates like the rest of the config: strict, with messages that fix."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from pydantic import ValidationError

from rebalancer.notify import NotificationKind, NotifyConfig, Severity, WebhookConfig

EXAMPLE = """
[notify]
timeout_seconds = 10
max_attempts = 4
backoff_seconds = 0.5
max_backoff_seconds = 8
max_retry_after_seconds = 30
drain_timeout_seconds = 10

[[notify.webhooks]]
kind = "slack"
url_env = "REBALANCER_SLACK_WEBHOOK_URL"
min_severity = "warning"

[[notify.webhooks]]
kind = "telegram"
token_env = "REBALANCER_TELEGRAM_BOT_TOKEN"
chat_id = -1001234567890
events = ["cycle_failed", "circuit_open", "margin_warning"]

[[notify.webhooks]]
kind = "discord"
url_env = "REBALANCER_DISCORD_WEBHOOK_URL"

[[notify.webhooks]]
kind = "json"
url_env = "REBALANCER_NOTIFY_JSON_URL"
events = ["CYCLE_DONE", "cycle_failed", "cycle_skipped"]
"""


def hook(**values: Any) -> WebhookConfig:
    return WebhookConfig.model_validate(values)


def test_the_documented_example_is_valid() -> None:
    config = NotifyConfig.model_validate(tomllib.loads(EXAMPLE)["notify"])
    slack, telegram, discord, generic = config.webhooks
    assert slack.min_severity is Severity.WARNING
    assert telegram.chat_id == "-1001234567890"
    assert telegram.secret_env == "REBALANCER_TELEGRAM_BOT_TOKEN"  # noqa: S105 -- a name
    assert discord.events is None
    assert generic.events == (
        NotificationKind.CYCLE_DONE,
        NotificationKind.CYCLE_FAILED,
        NotificationKind.CYCLE_SKIPPED,
    )
    assert config.policy().max_attempts == 4


def test_no_section_means_no_webhooks() -> None:
    assert NotifyConfig().webhooks == ()


def test_a_url_itself_is_not_accepted_in_the_file() -> None:
    with pytest.raises(ValidationError, match="url"):
        hook(kind="slack", url="https://hooks.slack.com/services/x")


@pytest.mark.parametrize(
    ("values", "fix"),
    [
        ({"kind": "slack"}, "needs url_env"),
        ({"kind": "telegram", "token_env": "T"}, "set both"),
        ({"kind": "telegram", "chat_id": "1"}, "set both"),
        ({"kind": "telegram", "token_env": "T", "chat_id": "1", "url_env": "U"}, "not url_env"),
        ({"kind": "discord", "url_env": "U", "chat_id": "1"}, "remove them"),
        ({"kind": "json", "url_env": "U", "events": []}, "list event kinds or remove"),
        ({"kind": "json", "url_env": "not a name"}, "pattern"),
        ({"kind": "email", "url_env": "U"}, "'json', 'slack', 'discord' or 'telegram'"),
        ({"kind": "json", "url_env": "U", "events": ["cycle_exploded"]}, "cycle_done"),
    ],
)
def test_invalid_webhooks_say_how_to_fix_them(values: dict[str, Any], fix: str) -> None:
    with pytest.raises(ValidationError, match=fix):
        hook(**values)


def test_duplicate_events_collapse() -> None:
    config = hook(kind="json", url_env="U", events=["cycle_done", "cycle_done"])
    assert config.events == (NotificationKind.CYCLE_DONE,)


def test_backoff_above_its_maximum_is_refused() -> None:
    with pytest.raises(ValidationError, match="lower it or raise the maximum"):
        NotifyConfig(backoff_seconds=10, max_backoff_seconds=5)


def test_config_is_frozen() -> None:
    config = NotifyConfig()
    with pytest.raises(ValidationError, match="frozen"):
        config.timeout_seconds = 1  # type: ignore[misc]
