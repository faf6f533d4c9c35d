"""Logging setup: structlog events, JSON lines for the daemon, readable lines on a terminal.

Every event is snake_case past tense with key-values; the run id is bound per cycle through
structlog's context variables. A redaction step drops any key that looks like a secret, so a
careless `log.info(..., api_key=...)` cannot leak one. Libraries that log through the
standard `logging` module (APScheduler, and Python's own warnings) are routed into the same
stream as `<library>_logged` events at warning level and above, so a JSON log stays JSON.
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


class _IntoStructlog(logging.Handler):
    """A `logging` handler that re-emits each record as a structlog event."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            library = "warnings" if record.name == "py.warnings" else record.name.split(".")[0]
            fields: dict[str, Any] = {"logger": record.name, "message": record.getMessage().strip()}
            if record.exc_info and record.exc_info[1] is not None:
                error = record.exc_info[1]
                fields["error"] = f"{type(error).__name__}: {error}".rstrip(": ")
            logger = structlog.get_logger(record.name)
            method = record.levelname.lower() if record.levelno < logging.CRITICAL else "critical"
            getattr(logger, method, logger.warning)(f"{library}_logged", **fields)
        except Exception:  # a logging failure must never take the bot down
            self.handleError(record)


def _route_standard_logging() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _IntoStructlog):
            root.removeHandler(handler)
    root.addHandler(_IntoStructlog(logging.WARNING))
    if root.level > logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)
    logging.captureWarnings(True)


def _stderr_logger(*_: Any) -> structlog.PrintLogger:
    return structlog.PrintLogger(sys.stderr)


def configure(level: str = "warning", fmt: Literal["console", "json"] = "console") -> None:
    """Route structlog to stderr at `level`, as JSON lines or for a human; standard logging
    records at warning and above go the same way."""
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
        # Whatever sys.stderr is when a line is written (not when this ran): a test's captured
        # stream, closed since, must not swallow the next test's log lines.
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    _route_standard_logging()
