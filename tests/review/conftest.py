"""Review tests use the store's database fixtures: SQLite and PostgreSQL."""

from tests.store.databases import db_url, pg_database, store

__all__ = ["db_url", "pg_database", "store"]
