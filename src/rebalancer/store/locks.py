"""One writer per portfolio: a lock that dies with its holder, says who holds it, and fences.

On PostgreSQL the lock is a session advisory lock on a dedicated connection, so the server
frees it when the holder's connection drops, however the holder died; its key is derived from
the schema and portfolio names, so it is stable across processes and releases. On SQLite it is
an OS lock (`flock`) on a file beside the database, which the kernel frees when the holding
process exits. Either way the holder's pid, host and start time are written down (in the lock
file, or in `writer_locks`) so that a second writer is told who to look for.

A lock can be lost while its holder lives: a killed session, a server restart or a failover
drops an advisory lock and nothing tells the holder. So the held lock is also a *fence*: the
journal calls `check(conn)` inside the very transaction that commits a run's start or an order
intent, and that transaction fails (`WriterLockLost`) unless this process's lock session still
holds the lock at that moment, as the server's own lock table says. An intent is committed
before its order is sent, so a writer that lost its lock sends nothing more; it must `regain()`
the lock (and reconcile) before trading again, or give way to the process that took it. On
SQLite the fence checks that the locked file is still the one at the lock path (a lock file
deleted or replaced under a holder would let a second writer in). The same lease serves any
process that writes for a portfolio: the daemon, `once`, and the fleet's workers, which take
the lease of the portfolio a job is for.
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
from typing import Protocol

from sqlalchemy import URL, Connection, Engine, create_engine, delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from rebalancer.service.journal import JournalUnavailable, WriterLockLost
from rebalancer.store.engine import is_memory_sqlite, normalise_url
from rebalancer.store.faults import cause_of, reported, shown
from rebalancer.store.tables import WriterLockRow


@dataclass(frozen=True, slots=True)
class LockHolder:
    pid: int
    host: str
    since: datetime

    def describe(self) -> str:
        since = self.since.isoformat(timespec="seconds").replace("+00:00", "Z")
        return f"pid {self.pid} on {self.host} since {since}"

    @property
    def writer(self) -> str:
        """How runs record their writer: `<pid>@<host>`."""
        return f"{self.pid}@{self.host}"


class WriterLockHeld(Exception):  # noqa: N818 - named for the situation, like FileExistsError
    """Another process is the portfolio's writer."""

    def __init__(self, portfolio: str, holder: LockHolder | None) -> None:
        self.portfolio = portfolio
        self.holder = holder
        who = holder.describe() if holder else "another process (it has not said which yet)"
        super().__init__(f"portfolio {portfolio!r} already has a writer: {who}")


class Fence(Protocol):
    """What the journal asks before committing new work: am I still the writer?"""

    @property
    def writer(self) -> str: ...

    def check(self, conn: Connection) -> None:
        """Return inside the caller's transaction if the lock is still held; else raise
        `WriterLockLost` (the transaction then rolls back)."""
        ...


def _now() -> datetime:
    return datetime.now(UTC)


def writer_alive(writer: str) -> bool:
    """Whether the process that recorded itself as `<pid>@<host>` may still be running.

    Only a process on this host can be asked; another host's writer, or this process itself (its
    own cycles are not running while it reconciles), counts as gone.
    """
    pid_text, _, host = writer.partition("@")
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return not _is_zombie(int(pid_text))


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


@contextmanager
def acquire_writer_lock(
    url: str | URL, portfolio: str, *, clock: Callable[[], datetime] = _now
) -> Iterator[WriterLease]:
    """Hold the portfolio's writer lock for the `with` block; `WriterLockHeld` if taken."""
    me = LockHolder(os.getpid(), socket.gethostname(), clock())
    parsed = normalise_url(url)
    lease: WriterLease
    if parsed.get_backend_name() == "sqlite":
        lease = _FileLease(lock_path(parsed, portfolio), portfolio, me)
    else:
        lease = _AdvisoryLease(parsed, portfolio, me)
    lease.take()
    try:
        yield lease
    finally:
        lease.release()


class WriterLease:
    """A held writer lock: its holder, the fence, and how to take it again once lost."""

    portfolio: str
    holder: LockHolder

    @property
    def writer(self) -> str:
        return self.holder.writer

    def take(self) -> None:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def check(self, conn: Connection) -> None:
        raise NotImplementedError

    def held(self) -> bool:
        """Whether the lock is still ours (asked of the lock itself, outside any journal
        transaction)."""
        raise NotImplementedError

    def regain(self) -> bool:
        """Make sure the lock is held again; True if it had been lost (the caller must then
        reconcile before trading). `WriterLockHeld` if another process took it meanwhile."""
        if self.held():
            return False
        self.release()
        self.take()
        return True

    def _lost(self, why: str) -> WriterLockLost:
        return WriterLockLost(
            f"writer lock of portfolio {self.portfolio!r}", f"the writer lock was lost ({why})"
        )


def lock_path(url: URL, portfolio: str) -> Path:
    """The lock file beside the database (in the temp directory for an in-memory one)."""
    safe = portfolio
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", portfolio):
        safe = hashlib.sha256(portfolio.encode()).hexdigest()[:16]
    if is_memory_sqlite(url):
        return Path(tempfile.gettempdir()) / f"rebalancer-memory-{os.getpid()}.{safe}.lock"
    return Path(f"{Path(str(url.database)).resolve()}.{safe}.lock")


class _FileLease(WriterLease):
    def __init__(self, path: Path, portfolio: str, me: LockHolder) -> None:
        self.path = path
        self.portfolio = portfolio
        self.holder = me
        self._fd: int | None = None

    def take(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise JournalUnavailable(f"lock file {self.path}", cause_of(exc)) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise WriterLockHeld(self.portfolio, _read_holder(fd)) from None
            try:
                name = json.dumps(_holder_json(self.holder)).encode()
                os.pwrite(fd, name, 0)
                os.ftruncate(fd, len(name))  # a longer name left by an earlier holder
            except OSError as exc:
                raise JournalUnavailable(f"lock file {self.path}", cause_of(exc)) from None
        except BaseException:
            os.close(fd)  # closing also unlocks
            raise
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            with suppress(OSError):
                if self._same_file(fd):
                    os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _same_file(self, fd: int) -> bool:
        try:
            here = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)

    def held(self) -> bool:
        return self._fd is not None and self._same_file(self._fd)

    def check(self, conn: Connection) -> None:
        # Under SQLite's write lock (BEGIN IMMEDIATE): no other writer can commit meanwhile.
        if not self.held():
            raise self._lost(f"the lock file {self.path} was removed or replaced")


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


# The server's lock table shows a bigint advisory key as two unsigned halves (objsubid 1).
_HOLDS = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND mode = 'ExclusiveLock' AND objsubid = 1 AND pid = :pid "
    "AND classid = CAST(:high AS oid) AND objid = CAST(:low AS oid) "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
)


class _AdvisoryLease(WriterLease):
    def __init__(self, url: URL, portfolio: str, me: LockHolder) -> None:
        self.url = url
        self.portfolio = portfolio
        self.holder = me
        # A connection of its own, outside any pool: the lock lives exactly as long as it does.
        self._engine: Engine = create_engine(url, poolclass=NullPool)
        self._conn: Connection | None = None
        self._key = 0
        self._backend = 0

    def take(self) -> None:
        with reported(self.url):
            raw = self._engine.connect()
            try:
                conn = raw.execution_options(isolation_level="AUTOCOMMIT")
                schema = str(conn.scalar(text("SELECT current_schema()")))
                key = advisory_key(schema, self.portfolio)
                if not conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}):
                    raise WriterLockHeld(self.portfolio, _holder_row(conn, self.portfolio))
                self._backend = int(conn.scalar(text("SELECT pg_backend_pid()")) or 0)
                _write_holder_row(conn, self.portfolio, self.holder)
            except BaseException:
                raw.close()
                raise
        self._conn, self._key = raw, key

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # A lost session has nothing left to release: no error for it.
            with suppress(SQLAlchemyError):
                conn.execute(delete(WriterLockRow).where(WriterLockRow.portfolio == self.portfolio))
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            with suppress(SQLAlchemyError):
                conn.close()
        self._engine.dispose()

    def _holds(self, conn: Connection) -> bool:
        unsigned = self._key & 0xFFFF_FFFF_FFFF_FFFF
        params = {"pid": self._backend, "high": unsigned >> 32, "low": unsigned & 0xFFFF_FFFF}
        return bool(conn.scalar(_HOLDS, params))

    def check(self, conn: Connection) -> None:
        if self._conn is None or not self._holds(conn):
            raise self._lost(
                f"its session on {shown(self.url)} ended: a server restart, failover or a "
                "killed connection"
            )

    def held(self) -> bool:
        if self._conn is None:
            return False
        try:
            return self._holds(self._conn)
        except SQLAlchemyError:
            return False  # the session is gone, and the lock with it


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
