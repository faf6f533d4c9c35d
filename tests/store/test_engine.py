"""Opening a store: SQLite is set up for a crash-safe journal; URLs pick the shipped driver."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from rebalancer.store import Store, open_store
from rebalancer.store.engine import normalise_url


def test_sqlite_connections_are_tuned_for_a_durable_journal(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/j.db") as store, store.read() as session:
        pragma = {
            name: session.execute(text(f"PRAGMA {name}")).scalar_one()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 10000,
    }


def test_a_write_session_commits_on_exit_and_rolls_back_on_error(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/j.db") as store:
        with store.write() as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
        with pytest.raises(RuntimeError, match="abandoned"):
            _insert_then_fail(store)
        with store.write() as session:
            session.execute(text("INSERT INTO t VALUES (2)"))
        with store.read() as session:
            assert session.execute(text("SELECT x FROM t")).scalars().all() == [2]


def _insert_then_fail(store: Store) -> None:
    with store.write() as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("abandoned")


def test_a_bare_postgresql_url_uses_psycopg_3() -> None:
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


def test_an_unsupported_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="'mysql' is not supported"):
        normalise_url("mysql://u@h/db")
