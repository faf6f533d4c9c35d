"""Database failures told in words: what broke (disk full, read-only, connection refused...).

The store's sessions turn the driver's errors that mean "the journal cannot be used right now"
into the journal port's `JournalUnavailable`, with a short cause a person can act on and the
driver's first line for the details. Constraint violations are not faults of the database and
pass through unchanged (the journal maps them onto its own errors).
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import URL
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from rebalancer.service.journal import JournalUnavailable

# (fragment of the driver's message, lower case) -> the cause, first match wins.
_CAUSES = (
    ("database or disk is full", "disk full"),
    ("no space left on device", "disk full"),
    ("could not extend file", "disk full"),
    ("readonly database", "read-only"),
    ("read-only transaction", "read-only"),
    ("read-only file system", "read-only"),
    ("file is not a database", "not a valid journal file (corrupt or not SQLite)"),
    ("disk image is malformed", "not a valid journal file (corrupt)"),
    ("unable to open database file", "cannot open the database file"),
    ("disk i/o error", "disk I/O error"),
    ("connection refused", "connection refused"),
    ("terminating connection", "connection lost (the server cut the session)"),
    ("server closed the connection", "connection lost"),
    ("consuming input failed", "connection lost"),
    ("connection is closed", "connection lost"),
    ("the database system is", "the server is starting up or shutting down"),
    ("timeout expired", "connection timed out"),
    ("could not translate host name", "unknown database host"),
)


def shown(url: URL) -> str:
    """The database as people should see it: no password."""
    return url.render_as_string(hide_password=True)


def cause_of(error: BaseException) -> str:
    """A short cause and the driver's first line, e.g. `disk full (database or disk is full)`."""
    original = getattr(error, "orig", None) or error
    first = (str(original).strip().splitlines() or [type(original).__name__])[0]
    if isinstance(original, OSError) and original.errno == errno.ENOSPC:
        return f"disk full ({first})"
    lowered = first.lower()
    for fragment, cause in _CAUSES:
        if fragment in lowered:
            return f"{cause} ({first})"
    return first


def is_unavailable(error: BaseException) -> bool:
    """Whether a driver error means the database cannot serve us (not a rule we broke)."""
    return isinstance(error, DBAPIError) and not isinstance(error, IntegrityError | DataError)


@contextmanager
def reported(url: URL) -> Iterator[None]:
    """Raise the driver's unavailability errors inside the block as `JournalUnavailable`."""
    try:
        yield
    except DBAPIError as exc:
        if not is_unavailable(exc):
            raise
        raise JournalUnavailable(shown(url), cause_of(exc)) from exc
