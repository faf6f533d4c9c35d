"""Building the ccxt client from the config: the one place ccxt's constructor is called.

The client is ccxt's asyncio flavour with a rolling-window rate limiter (a cycle's burst of
reads is not spaced out by the default per-request sleep, yet stays inside the exchange's
per-minute weight). The config's `options` and `urls` are merged into ccxt's own, so a user can
point the bot at a testnet or the local emulator. Each HTTP answer's status and Retry-After are
kept in a context variable, because ccxt's exceptions carry only a message.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import ccxt.async_support as ccxt_async

from rebalancer.config.model import ExchangeConfig
from rebalancer.exchange.errors import retry_after_from_headers
from rebalancer.exchange.venues import dialect_for
from rebalancer.secrets import Credentials


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    retry_after: float | None


LAST_ANSWER: ContextVar[HttpAnswer | None] = ContextVar("last_http_answer", default=None)


def _tracking(cls: type[Any]) -> type[Any]:
    """A subclass of the ccxt exchange class that records each answer's status."""

    def handle_errors(self: Any, code: int, *rest: Any) -> Any:
        # ccxt calls handle_errors(code, reason, url, method, headers, body, response, ...).
        headers = rest[3] if len(rest) > 3 else None
        retry_after = retry_after_from_headers(headers) if headers else None
        LAST_ANSWER.set(HttpAnswer(int(code), retry_after))
        return cls.handle_errors(self, code, *rest)

    return type(f"Tracked{cls.__name__}", (cls,), {"handle_errors": handle_errors})


def build_client(
    config: ExchangeConfig, credentials: Credentials | None, *, timeout_ms: int = 10_000
) -> Any:
    """An async ccxt client for `config.id`, with credentials only if given."""
    base = getattr(ccxt_async, config.id, None)
    if base is None:
        raise ValueError(f"ccxt has no exchange {config.id!r}")
    options: dict[str, Any] = {"defaultType": "swap", **dialect_for(config.id).client_options()}
    options.update(config.options)
    params: dict[str, Any] = {
        "enableRateLimit": True,
        "rateLimiterAlgorithm": "rollingWindow",
        "rollingWindowSize": 60_000,
        "timeout": timeout_ms,
        "options": options,
        "urls": dict(config.urls),
    }
    if credentials is not None:
        params["apiKey"] = credentials.api_key.get_secret_value()
        params["secret"] = credentials.secret.get_secret_value()
        if credentials.password is not None:
            params["password"] = credentials.password.get_secret_value()
    client = _tracking(base)(params)
    if config.sandbox:
        client.set_sandbox_mode(True)
    return client
