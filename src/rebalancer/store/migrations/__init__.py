"""Alembic migrations of the journal: one set for SQLite and PostgreSQL (see `store.schema`)."""
