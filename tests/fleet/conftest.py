"""Fleet fixtures: a fresh PostgreSQL schema with the journal's and procrastinate's tables."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import URL

from rebalancer.fleet.jobs import Fleet
from rebalancer.store import Store, open_store, upgrade
from tests.store.databases import fresh_schema, pg_database

__all__ = ["fleet_store", "fleet_url", "pg_database"]


@pytest.fixture
def fleet_url(pg_database: URL) -> Iterator[str]:
    """A new schema, initialised as `rebalancer fleet init` does."""
    with fresh_schema(pg_database) as url:
        upgrade(url)
        fleet = Fleet(url)
        try:
            asyncio.run(fleet.ensure_schema())
        finally:
            fleet.close()
        yield url


@pytest.fixture
def fleet_store(fleet_url: str) -> Iterator[Store]:
    store = open_store(fleet_url)
    try:
        yield store
    finally:
        store.close()
