"""Pooled PostgreSQL connections that the server closed: replaced after idling, or one clear
error and a fresh pool. Real PostgreSQL; the server really terminates the backend."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from jobprobe.store import errors
from jobprobe.store.db import Store
from tests import services

ROOT = Path(__file__).resolve().parents[3]


def backend_pid(store: Store) -> int:
    with store.transaction() as conn:
        pid = conn.scalar(sa.text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int)
    return pid


def terminate(pid: int) -> None:
    """Have the server close backend ``pid``, as a restart or an idle timeout would."""
    with psycopg.connect(
        f"host={services.PG_HOST} port={services.PG_PORT} user={services.PG_USER} dbname=postgres",
        autocommit=True,
    ) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        for _ in range(100):  # the backend exits asynchronously
            gone = conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,))
            if gone.fetchone() is None:
                return
            time.sleep(0.02)
    raise AssertionError(f"backend {pid} still there after pg_terminate_backend")


def test_a_connection_idle_past_the_threshold_is_pinged_and_replaced(pg_url: str) -> None:
    store = Store(pg_url, ping_if_idle_s=0.2)
    try:
        first = backend_pid(store)
        terminate(first)
        time.sleep(0.3)
        second = backend_pid(store)  # no error: the ping found it dead, the pool reconnected
        assert second != first
    finally:
        store.dispose()


def test_a_dead_connection_reused_at_once_fails_cleanly_then_the_pool_recovers(
    pg_url: str,
) -> None:
    store = Store(pg_url, ping_if_idle_s=3600)  # never idle long enough to be pinged
    try:
        first = backend_pid(store)
        terminate(first)
        with pytest.raises(errors.StoreUnavailable):
            backend_pid(store)
        assert backend_pid(store) != first  # SQLAlchemy renewed the pool after the disconnect
    finally:
        store.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_processes_that_open_a_new_store_at_once_all_find_it_ready(
    backend: str, tmp_path: Path
) -> None:
    """The first commands on a new store upgrade its schema one at a time (they raced to
    create its tables: 'table sweeps already exists')."""
    name = None
    if backend == "postgresql":
        url, name = services.create_pg_database()
    else:
        url = f"sqlite:///{tmp_path / 'new.db'}"
    code = (
        "import sys\nfrom jobprobe.store.db import Store\n"
        "Store(sys.argv[1]).dispose()\nprint('ready')\n"
    )
    try:
        argv = [sys.executable, "-c", code, url]
        procs = [
            subprocess.Popen(
                argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(4)
        ]
        results = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0] * 4, results
    finally:
        if name is not None:
            services.drop_pg_database(name)
