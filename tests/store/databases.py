"""Database fixtures: every store test runs on a SQLite file and on a real PostgreSQL server.

PostgreSQL tests get a database of their own for the session (`rebalancer_test_<random>`,
dropped at the end) and a fresh schema per test. Without a server they are skipped, saying why;
with CI=true a missing server fails them, so CI cannot pass by silently testing less.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import URL, create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from rebalancer.store import Store, open_store, upgrade

PG_CANDIDATES = (
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "postgresql+psycopg://root@127.0.0.1:5432/test",
)


def _reachable_server() -> tuple[URL | None, str]:
    candidates = (
        [os.environ["REBALANCER_TEST_PG_URL"]]
        if "REBALANCER_TEST_PG_URL" in os.environ
        else PG_CANDIDATES
    )
    problems = []
    for candidate in candidates:
        url = make_url(candidate)
        engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return url, ""
        except OperationalError as exc:
            problems.append(f"{url.render_as_string()}: {str(exc.orig).strip().splitlines()[0]}")
        finally:
            engine.dispose()
    return None, "; ".join(problems)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[URL]:
    """A fresh database on the local PostgreSQL server, dropped when the session ends."""
    server, problem = _reachable_server()
    if server is None:
        message = f"PostgreSQL is not reachable ({problem})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI=true requires it", pytrace=False)
        pytest.skip(f"{message}; start it or set REBALANCER_TEST_PG_URL")
    name = f"rebalancer_test_{secrets.token_hex(4)}"
    admin = create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def fresh_schema(database: URL) -> Iterator[str]:
    """The URL of a new, empty schema in `database` (set as the search path), dropped after."""
    schema = f"t_{secrets.token_hex(6)}"
    engine = create_engine(database, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        url = database.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@contextmanager
def empty_database(kind: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """kind "sqlite": a file in the test's tmp_path; "postgresql": a fresh schema."""
    if kind == "sqlite":
        tmp_path: Path = request.getfixturevalue("tmp_path")
        yield f"sqlite:///{tmp_path}/journal.db"
    else:
        with fresh_schema(request.getfixturevalue("pg_database")) as url:
            yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh schema in the session's PostgreSQL database."""
    with empty_database(request.param, request) as url:
        yield url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated, open store."""
    upgrade(db_url)
    opened = open_store(db_url)
    try:
        yield opened
    finally:
        opened.close()
