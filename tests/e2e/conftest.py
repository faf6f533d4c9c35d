"""End-to-end fixtures: the store's database fixtures (SQLite file or fresh PostgreSQL schema)."""

from tests.store.databases import db_url, pg_database

__all__ = ["db_url", "pg_database"]
