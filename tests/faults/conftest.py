"""Fault-test fixtures: a private PostgreSQL cluster (see `pg_cluster.py`)."""

from tests.faults.pg_cluster import pg_cluster

__all__ = ["pg_cluster"]
