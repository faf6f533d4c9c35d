"""A private PostgreSQL cluster that a test may stop, restart and cut connections of.

Built from the machine's PostgreSQL binaries in a temporary folder, listening on a free loopback
port (never the shared server on 5432). PostgreSQL refuses to run as root, so when the tests
run as root the cluster is created and run as the `postgres` system user. Without the binaries
the tests that need it are skipped, saying why; with CI=true they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

BIN = Path(os.environ.get("REBALANCER_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_owner() -> list[str]:
    """The prefix that runs a PostgreSQL binary as a user it accepts."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root and `runuser` is missing: cannot drop to postgres")
    return [runuser, "-u", "postgres", "--"]


@dataclass
class PgCluster:
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> None:
        command = [*_as_owner(), str(BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30"]
        subprocess.run([*command, *args], check=True, capture_output=True, text=True, timeout=60)

    def start(self) -> None:
        self._ctl("-l", str(self.folder / "server.log"), "start")

    def stop(self) -> None:
        """An immediate stop: like a crash of the server, no session is closed cleanly."""
        self._ctl("-m", "immediate", "stop")

    def start_if_stopped(self) -> None:
        status = subprocess.run(
            [*_as_owner(), str(BIN / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
            check=False,
            timeout=30,
        )
        if status.returncode != 0:
            self.start()

    def restart(self) -> None:
        self.stop()
        self.start()

    def terminate(self, where: str, params: dict[str, object] | None = None) -> int:
        """`pg_terminate_backend` every session matching the SQL condition `where` (over
        pg_stat_activity); how many were cut."""
        engine = create_engine(self.url(), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                cut = conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "  # noqa: S608
                        f"WHERE pid <> pg_backend_pid() AND ({where})"
                    ),
                    params or {},
                ).all()
                conn.commit()
                return len(cut)
        finally:
            engine.dispose()

    def create_database(self, name: str) -> str:
        engine = create_engine(self.url(), poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)


def _unavailable() -> str | None:
    if not (BIN / "initdb").exists():
        return f"no PostgreSQL binaries in {BIN} (set REBALANCER_TEST_PG_BIN)"
    return None


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One private cluster for the session; tests create their own databases in it."""
    problem = _unavailable()
    if problem is None:
        try:
            cluster = _create()
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            problem = f"cannot start a private PostgreSQL cluster: {exc}"
            detail = getattr(exc, "stderr", None)
            if detail:
                problem += f" ({detail.strip().splitlines()[-1]})"
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{problem}; CI=true requires it", pytrace=False)
        pytest.skip(problem)
    try:
        yield cluster
    finally:
        with suppress(subprocess.SubprocessError):  # a test that failed half-way stopped it
            cluster.stop()
        shutil.rmtree(cluster.folder, ignore_errors=True)


def _create() -> PgCluster:
    # Not under pytest's tmp_path: its parents are private to root, and postgres must reach it.
    folder = Path(tempfile.mkdtemp(prefix="rebalancer-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    cluster = PgCluster(folder, _free_port())
    subprocess.run(
        [
            *_as_owner(),
            str(BIN / "initdb"),
            "-D",
            str(cluster.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    settings = (
        f"\nlisten_addresses = '127.0.0.1'\nport = {cluster.port}\n"
        f"unix_socket_directories = '{folder}'\nfsync = off\nmax_connections = 40\n"
    )
    with (cluster.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write(settings)
    cluster.start()
    return cluster
