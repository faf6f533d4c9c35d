"""Migrations build the schema the tables describe, on both databases, and `check_schema`
refuses every database this code cannot use, saying why in one line."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from rebalancer.store import (
    SchemaError,
    check_schema,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from rebalancer.store.engine import make_engine
from rebalancer.store.tables import Base

JOURNAL_TABLES = {
    "portfolios",
    "runs",
    "snapshots",
    "plan_lines",
    "orders",
    "fills",
    "events",
    "writer_locks",
    "controls",
    "paper_accounts",
    "fleet_portfolios",
    "fleet_rate_budgets",
    "fleet_rate_spend",
    "carry_entries",
    "carry_gaps",
}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _execute(url: str, sql: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def test_upgrade_from_empty_then_downgrade_to_base(db_url: str) -> None:
    assert current_revision(db_url) is None

    upgrade(db_url)
    assert current_revision(db_url) == head_revision()
    assert head_revision().startswith("rebalancer_")
    assert _tables(db_url) == JOURNAL_TABLES | {"alembic_version"}
    check_schema(db_url)

    downgrade(db_url, "base")
    assert current_revision(db_url) is None
    assert _tables(db_url) == {"alembic_version"}


def test_the_migrated_schema_matches_the_tables_exactly(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_an_empty_database_asks_for_an_upgrade(db_url: str) -> None:
    with pytest.raises(SchemaError, match=r"has no journal yet; run `rebalancer db upgrade`$"):
        check_schema(db_url)


def test_a_database_downgraded_to_base_asks_for_an_upgrade(db_url: str) -> None:
    upgrade(db_url)
    downgrade(db_url, "base")
    with pytest.raises(SchemaError, match="run `rebalancer db upgrade`"):
        check_schema(db_url)


def test_an_old_schema_names_both_revisions_and_the_fix(db_url: str) -> None:
    upgrade(db_url, "rebalancer_0001")
    with pytest.raises(SchemaError) as caught:
        check_schema(db_url)
    message = str(caught.value)
    assert "rebalancer_0001" in message
    assert head_revision() in message
    assert "run `rebalancer db upgrade`" in message
    assert "\n" not in message


def test_a_newer_schema_asks_for_newer_code(db_url: str) -> None:
    upgrade(db_url)
    _execute(db_url, "UPDATE alembic_version SET version_num = 'rebalancer_0099'")
    with pytest.raises(
        SchemaError, match=f"rebalancer_0099, newer than this code's {head_revision()}"
    ):
        check_schema(db_url)


def test_tables_without_a_version_are_a_foreign_database(db_url: str) -> None:
    _execute(db_url, "CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    with pytest.raises(SchemaError, match="was not created by futures-rebalancer"):
        check_schema(db_url)


def test_an_unknown_revision_is_a_foreign_database(db_url: str) -> None:
    _execute(db_url, "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    _execute(db_url, "INSERT INTO alembic_version VALUES ('3fa2b1c9d0e7')")
    with pytest.raises(
        SchemaError, match=r"unknown schema revision '3fa2b1c9d0e7'.*not created by"
    ):
        check_schema(db_url)


def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    url = "postgresql+psycopg://bot:s3cret@127.0.0.1:1/nowhere?connect_timeout=1"
    with pytest.raises(
        SchemaError, match=r"^cannot open postgresql\+psycopg://bot:\*\*\*@"
    ) as caught:
        check_schema(url)
    assert "s3cret" not in str(caught.value)
    assert "\n" not in str(caught.value)
