"""Fixtures of the fault tests: the job script, a private Redis, a private PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.fault_support import (
    JOB_SCRIPT,
    PrivatePostgres,
    PrivateRedis,
)


@pytest.fixture
def job_script(tmp_path: Path) -> Path:
    path = tmp_path / "busy.py"
    path.write_text(JOB_SCRIPT)
    return path


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A broker no other test shares: ``isolated_redis_db`` numbers can collide between
    sessions running tests at once (one flushes or consumes the other's queue)."""
    redis = PrivateRedis(tmp_path / "redis.log")
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def private_pg() -> Iterator[tuple[PrivatePostgres, str]]:
    """A private PostgreSQL, started, with a database ``jobprobe``: (server, URL)."""
    pg = PrivatePostgres()
    try:
        pg.start()
        yield pg, pg.create_database("jobprobe")
    finally:
        pg.remove()
