"""One writer per portfolio: a lock that dies with its holder, and says who holds it.

On PostgreSQL the lock is a session advisory lock on a dedicated connection, so the server
frees it when the holder's connection drops, however the holder died; its key is derived from
the schema and portfolio names, so it is stable across processes and releases. On SQLite it is
an OS lock (`flock`) on a file beside the database, which the kernel frees when the holding
process exits. Either way the holder's pid, host and start time are written down (in the lock
file, or in `writer_locks`) so that a second writer is told who to look for.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import URL, Connection, create_engine, delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from rebalancer.store.engine import is_memory_sqlite, normalise_url
from rebalancer.store.tables import WriterLockRow


@dataclass(frozen=True, slots=True)
class LockHolder:
    pid: int
    host: str
    since: datetime

    def describe(self) -> str:
        since = self.since.isoformat(timespec="seconds").replace("+00:00", "Z")
        return f"pid {self.pid} on {self.host} since {since}"


class WriterLockHeld(Exception):  # noqa: N818 - named for the situation, like FileExistsError
    """Another process is the portfolio's writer."""

    def __init__(self, portfolio: str, holder: LockHolder | None) -> None:
        self.portfolio = portfolio
        self.holder = holder
        who = holder.describe() if holder else "another process (it has not said which yet)"
        super().__init__(f"portfolio {portfolio!r} already has a writer: {who}")


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def acquire_writer_lock(
    url: str | URL, portfolio: str, *, clock: Callable[[], datetime] = _now
) -> Iterator[LockHolder]:
    """Hold the portfolio's writer lock for the `with` block; `WriterLockHeld` if taken."""
    me = LockHolder(os.getpid(), socket.gethostname(), clock())
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        with _file_lock(lock_path(parsed, portfolio), portfolio, me):
            yield me
    else:
        with _advisory_lock(parsed, portfolio, me):
            yield me


def lock_path(url: URL, portfolio: str) -> Path:
    """The lock file beside the database (in the temp directory for an in-memory one)."""
    safe = portfolio
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", portfolio):
        safe = hashlib.sha256(portfolio.encode()).hexdigest()[:16]
    if is_memory_sqlite(url):
        return Path(tempfile.gettempdir()) / f"rebalancer-memory-{os.getpid()}.{safe}.lock"
    return Path(f"{Path(str(url.database)).resolve()}.{safe}.lock")


@contextmanager
def _file_lock(path: Path, portfolio: str, me: LockHolder) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WriterLockHeld(portfolio, _read_holder(fd)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(_holder_json(me)).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder_json(holder: LockHolder) -> dict[str, object]:
    return {"pid": holder.pid, "host": holder.host, "since": holder.since.isoformat()}


def _read_holder(fd: int) -> LockHolder | None:
    try:
        raw = json.loads(os.pread(fd, 4096, 0) or b"null")
        return LockHolder(int(raw["pid"]), str(raw["host"]), datetime.fromisoformat(raw["since"]))
    except (ValueError, TypeError, KeyError):
        return None  # the holder has locked but not yet written its name


def advisory_key(schema: str, portfolio: str) -> int:
    """A signed 64-bit key, the same in every process for the same schema and portfolio."""
    digest = hashlib.sha256(f"futures-rebalancer:{schema}:{portfolio}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def _advisory_lock(url: URL, portfolio: str, me: LockHolder) -> Iterator[None]:
    # A connection of its own, outside any pool: the lock lives exactly as long as it does.
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as raw:
            conn = raw.execution_options(isolation_level="AUTOCOMMIT")
            schema = str(conn.scalar(text("SELECT current_schema()")))
            key = advisory_key(schema, portfolio)
            if not conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}):
                raise WriterLockHeld(portfolio, _holder_row(conn, portfolio))
            try:
                _write_holder_row(conn, portfolio, me)
                yield
            finally:
                with suppress(DBAPIError):
                    conn.execute(delete(WriterLockRow).where(WriterLockRow.portfolio == portfolio))
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    finally:
        engine.dispose()


def _write_holder_row(conn: Connection, portfolio: str, me: LockHolder) -> None:
    values = {"portfolio": portfolio, "pid": me.pid, "host": me.host, "since": me.since}
    stmt = insert(WriterLockRow).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=["portfolio"], set_=values)
    # Before `rebalancer db upgrade` the table is absent: the lock still holds, unnamed.
    with suppress(DBAPIError):
        conn.execute(stmt)


def _holder_row(conn: Connection, portfolio: str) -> LockHolder | None:
    try:
        row = conn.execute(
            select(WriterLockRow.pid, WriterLockRow.host, WriterLockRow.since).where(
                WriterLockRow.portfolio == portfolio
            )
        ).first()
    except DBAPIError:
        return None
    return None if row is None else LockHolder(row.pid, row.host, row.since)
