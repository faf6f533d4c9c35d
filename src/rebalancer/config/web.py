"""The `[web]` section: where `rebalancer web` listens (loopback unless configured)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

WEB_LOOPBACK = "127.0.0.1"
WEB_TOKEN_ENV = "REBALANCER_WEB_TOKEN"  # noqa: S105 - the variable's name, not a secret


class WebConfig(BaseModel):
    """Read-only unless `$REBALANCER_WEB_TOKEN` is set when the server starts; a host other
    than loopback exposes the dashboard to the network and must be set here on purpose."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(default=WEB_LOOPBACK, min_length=1)
    port: int = Field(default=8478, ge=1, le=65535)
