"""Store fixtures (see `databases.py`)."""

from tests.store.databases import db_url, pg_database, store

__all__ = ["db_url", "pg_database", "store"]
