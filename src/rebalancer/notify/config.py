"""The `[notify]` config section: which webhooks to call, for which events, how persistently.

Frozen pydantic models that reject unknown keys, like the rest of the config. Webhook URLs and
bot tokens carry credentials, so the file only names the environment variables that hold them
(`url_env`, `token_env`); `resolve.py` reads them. This module depends on pydantic alone so the
app config can embed it without an import cycle.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from rebalancer.notify.message import NotificationKind, Severity
from rebalancer.notify.policy import DeliveryPolicy

ChannelKind = Literal["json", "slack", "discord", "telegram"]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WebhookConfig(_Model):
    """One destination. Telegram takes `token_env` + `chat_id`; the others take `url_env`."""

    kind: ChannelKind
    url_env: EnvName | None = None
    token_env: EnvName | None = None
    chat_id: str | None = Field(default=None, min_length=1, max_length=64)
    events: tuple[Annotated[NotificationKind, BeforeValidator(_lower)], ...] | None = None
    min_severity: Annotated[Severity, BeforeValidator(_lower)] = Severity.INFO

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat_id(cls, value: Any) -> Any:
        # TOML reads `chat_id = -100123` as an integer; the Bot API takes either form.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("events")
    @classmethod
    def _events(
        cls, events: tuple[NotificationKind, ...] | None
    ) -> tuple[NotificationKind, ...] | None:
        if events is not None and not events:
            raise ValueError(
                "events is empty, so nothing would be sent; list event kinds or remove the key"
            )
        return None if events is None else tuple(dict.fromkeys(events))

    @model_validator(mode="after")
    def _credentials(self) -> WebhookConfig:
        if self.kind == "telegram":
            if self.token_env is None or self.chat_id is None:
                raise ValueError(
                    "a telegram webhook needs token_env (the variable holding the bot token) "
                    "and chat_id; set both"
                )
            if self.url_env is not None:
                raise ValueError("a telegram webhook takes token_env and chat_id, not url_env")
        else:
            if self.url_env is None:
                raise ValueError(
                    f"a {self.kind} webhook needs url_env, the variable holding its URL; set it"
                )
            if self.token_env is not None or self.chat_id is not None:
                raise ValueError(
                    f"token_env and chat_id are for telegram; remove them from this {self.kind} "
                    "webhook"
                )
        return self

    @property
    def secret_env(self) -> str:
        """The environment variable holding this webhook's credential."""
        name = self.token_env if self.kind == "telegram" else self.url_env
        if name is None:  # unreachable: `_credentials` requires it for each kind
            raise AssertionError(f"{self.kind} webhook without a credential variable")
        return name


class NotifyConfig(_Model):
    """All webhooks plus the delivery settings they share; no webhooks means no notifications."""

    webhooks: tuple[WebhookConfig, ...] = ()
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    max_attempts: int = Field(default=4, ge=1, le=10)
    backoff_seconds: float = Field(default=0.5, ge=0, le=60)
    max_backoff_seconds: float = Field(default=8.0, ge=0, le=300)
    max_retry_after_seconds: float = Field(default=30.0, ge=0, le=600)
    drain_timeout_seconds: float = Field(default=10.0, ge=0, le=300)

    @model_validator(mode="after")
    def _backoff_order(self) -> NotifyConfig:
        if self.backoff_seconds > self.max_backoff_seconds:
            raise ValueError(
                f"backoff_seconds ({self.backoff_seconds:g}) exceeds max_backoff_seconds "
                f"({self.max_backoff_seconds:g}); lower it or raise the maximum"
            )
        return self

    def policy(self) -> DeliveryPolicy:
        return DeliveryPolicy(
            max_attempts=self.max_attempts,
            base_backoff=self.backoff_seconds,
            max_backoff=self.max_backoff_seconds,
            max_retry_after=self.max_retry_after_seconds,
        )
