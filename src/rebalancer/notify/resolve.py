"""From `[notify]` config and the environment to channels, reading each webhook's secret.

Secrets come from `rebalancer.secrets` (a variable, or `NAME_FILE` naming a file), so a
missing one fails at start-up with one line naming the variable, and a value never appears in
the error. A URL that is not http(s) is refused without echoing it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import SecretStr

from rebalancer.notify.channel import Channel, Formatter
from rebalancer.notify.config import NotifyConfig, WebhookConfig
from rebalancer.notify.discord import discord_payload
from rebalancer.notify.json_format import json_payload
from rebalancer.notify.slack import slack_payload
from rebalancer.notify.telegram import send_message_url, telegram_payload
from rebalancer.secrets import MissingSecretError, read_secret

_FORMATS: dict[str, Formatter] = {
    "json": json_payload,
    "slack": slack_payload,
    "discord": discord_payload,
}


_BOT_TOKEN = re.compile(r"^[0-9]+:[A-Za-z0-9_-]+$")


class NotifySecretError(MissingSecretError):
    """A webhook's URL or token is missing or unusable; the message names the variable."""


def resolve_channels(config: NotifyConfig, env: Mapping[str, str]) -> list[Channel]:
    """One `Channel` per configured webhook, in config order."""
    return [_channel(index, hook, env) for index, hook in enumerate(config.webhooks)]


def _channel(index: int, hook: WebhookConfig, env: Mapping[str, str]) -> Channel:
    where = f"notify.webhooks[{index}] ({hook.kind})"
    try:
        secret = read_secret(hook.secret_env, env)
    except MissingSecretError as exc:
        raise NotifySecretError(f"{where}: {exc}") from None
    if hook.kind == "telegram":
        if hook.chat_id is None:  # unreachable: the config model requires it
            raise NotifySecretError(f"{where}: chat_id is not set; set it")
        if not _BOT_TOKEN.match(secret.get_secret_value()):
            raise NotifySecretError(
                f"{where}: {hook.secret_env} does not look like a bot token (digits:letters); "
                "set it to the token BotFather gave"
            )
        url = SecretStr(send_message_url(secret.get_secret_value()))
        formatter: Formatter = functools.partial(telegram_payload, chat_id=hook.chat_id)
    else:
        _check_url(where, hook.secret_env, secret)
        url = secret
        formatter = _FORMATS[hook.kind]
    return Channel(
        kind=hook.kind,
        label=f"{hook.kind}:{hook.secret_env}",
        url=url,
        format=formatter,
        events=None if hook.events is None else frozenset(hook.events),
        min_severity=hook.min_severity,
    )


def _check_url(where: str, name: str, url: SecretStr) -> None:
    parts = urlsplit(url.get_secret_value())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotifySecretError(
            f"{where}: {name} does not hold an http(s) URL; set it to the webhook URL"
        )
