"""One writer per portfolio: a second writer is refused and told who holds the lock, and the
lock is free again as soon as its holder dies, even by SIGKILL."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from rebalancer.store import Store, WriterLockHeld, acquire_writer_lock

HOLDER = """
import sys, time
from rebalancer.store import acquire_writer_lock
with acquire_writer_lock(sys.argv[1], sys.argv[2]):
    print("locked", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def url(store: Store, db_url: str) -> str:
    """A migrated database (the PostgreSQL lock names its holder in `writer_locks`)."""
    return db_url


@pytest.fixture
def holder(url: str) -> Iterator[subprocess.Popen[str]]:
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, "main"], stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "locked"
            yield proc
        finally:
            proc.kill()
            proc.wait(timeout=10)


def _acquire_eventually(url: str, seconds: float = 10) -> None:
    # The server (or kernel) frees the lock when it notices the holder is gone: nearly at once.
    deadline = time.monotonic() + seconds
    while True:
        try:
            with acquire_writer_lock(url, "main"):
                return
        except WriterLockHeld:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_second_process_is_told_who_holds_the_lock(
    url: str, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(WriterLockHeld) as caught, acquire_writer_lock(url, "main"):
        pytest.fail("acquired a lock another process holds")

    message = str(caught.value)
    assert f"pid {holder.pid} on " in message
    assert "since 20" in message
    assert caught.value.holder is not None
    assert caught.value.holder.pid == holder.pid


def test_the_lock_is_free_once_its_holder_is_killed(
    url: str, holder: subprocess.Popen[str]
) -> None:
    holder.kill()  # SIGKILL: no cleanup code runs
    holder.wait(timeout=10)

    _acquire_eventually(url)


def test_another_portfolio_has_its_own_lock(url: str, holder: subprocess.Popen[str]) -> None:
    with acquire_writer_lock(url, "second") as me:
        assert me.holder.pid != holder.pid


def _take_and_release(url: str) -> None:
    with acquire_writer_lock(url, "main"):
        pass


def test_the_lock_is_exclusive_within_one_process_too(url: str) -> None:
    with acquire_writer_lock(url, "main"), pytest.raises(WriterLockHeld, match="has a writer"):
        _take_and_release(url)
    _take_and_release(url)  # released on exit, so taken again


def test_an_in_memory_database_is_locked_through_a_temp_file() -> None:
    with acquire_writer_lock("sqlite:///:memory:", "main"), pytest.raises(WriterLockHeld):
        _take_and_release("sqlite://")
