"""Alembic's entry point for the journal: runs migrations on the engine `store.schema` hands in.

SQLite cannot alter most of a table in place, so migrations run in batch mode there (copy and
move); PostgreSQL runs them as written. Every migration runs in one transaction on both.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from rebalancer.store.tables import Base


def _run_online() -> None:
    engine = context.config.attributes.get("engine")
    if not isinstance(engine, Engine):
        raise RuntimeError("run migrations through rebalancer.store.schema, not the alembic CLI")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
_run_online()
