"""Logging setup: structlog events, JSON lines for the daemon, readable lines on a terminal.

Every event is snake_case past tense with key-values; the run id is bound per cycle through
structlog's context variables. A redaction step drops any key that looks like a secret, so a
careless `log.info(..., api_key=...)` cannot leak one.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

_SECRET_KEYS = ("secret", "password", "api_key", "apikey", "signature", "token", "passphrase")


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if any(word in key.lower() for word in _SECRET_KEYS):
            event[key] = "<redacted>"
    return event


def configure(level: str = "warning", fmt: Literal["console", "json"] = "console") -> None:
    """Route structlog to stderr at `level`, as JSON lines or for a human."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
