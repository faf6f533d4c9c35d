"""Opening a journal database: one engine and its session factories, built on request.

SQLite is tuned on every new connection for a journal that must survive a crash: WAL (readers
never block the writer), `synchronous=FULL` (a commit is on disk when it returns), foreign keys
on, and a busy timeout so a reader holding the file briefly does not fail a write. Writers
open their transactions with `BEGIN IMMEDIATE`, so two processes never both read and then
fail to upgrade to a write. PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from rebalancer.store.faults import reported

BUSY_TIMEOUT_MS = 10_000
_WRITE = "rebalancer_write"


def normalise_url(url: str | URL) -> URL:
    """The URL with the driver this project ships (psycopg 3 for a bare `postgresql://`)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"backend {backend!r} is not supported; use sqlite or postgresql")
    return parsed


def is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def make_engine(url: str | URL) -> Engine:
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    kwargs: dict[str, Any] = {}
    if is_memory_sqlite(parsed):
        # Every connection to :memory: is a new empty database: share one.
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # Take transaction control from the sqlite3 module (it would BEGIN lazily, DEFERRED, and
    # not around DDL); `_sqlite_on_begin` emits the BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(_WRITE, False)
    # Straight to the driver: this runs on every transaction of the journal's hot path.
    connection.connection.driver_connection.execute(  # type: ignore[union-attr]
        "BEGIN IMMEDIATE" if immediate else "BEGIN"
    )


@dataclass(frozen=True, slots=True)
class Store:
    """An open journal database: the engine plus factories for read and write sessions.

    A database that cannot serve a session (unreachable, full, read-only, corrupt) raises the
    journal port's `JournalUnavailable`, saying why.
    """

    url: URL
    engine: Engine
    _write_engine: Engine
    _reader: sessionmaker[Session]
    _writer: sessionmaker[Session]

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits on clean exit and rolls back on an exception."""
        with reported(self.url), self._writer.begin() as session:
            yield session

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A write transaction at the Core level, for hot paths (the journal's)."""
        with reported(self.url), self._write_engine.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Session]:
        with reported(self.url), self._reader() as session:
            yield session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def open_store(url: str | URL) -> Store:
    """Connect lazily to the journal at `url` (the schema is not checked here: see `schema`)."""
    engine = make_engine(url)
    writer_bind = engine.execution_options(**{_WRITE: True})
    return Store(
        url=engine.url,
        engine=engine,
        _write_engine=writer_bind,
        _reader=sessionmaker(engine, expire_on_commit=False),
        _writer=sessionmaker(writer_bind, expire_on_commit=False),
    )
