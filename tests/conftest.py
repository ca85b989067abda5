"""Suite-wide fixtures: a scrubbed environment and the real services."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobprobe.store.db import Store
from tests import services

# The suite never inherits a developer's jobprobe configuration.
for _key in [
    k for k in os.environ if k.startswith("JOBPROBE_") and not k.startswith("JOBPROBE_TEST_")
]:
    del os.environ[_key]
# Jobs of the suite run as the worker's own user (an explicit choice): this machine's Python
# lives where an unprivileged account cannot run it (/root/.pyenv). The isolation tests
# (tests/integration/test_isolation.py) run theirs as the default account, jobprobe-job.
os.environ["JOBPROBE_JOB_USER"] = "worker"


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the real Redis on loopback (skips, or fails under CI, when it is down)."""
    return services.require_redis()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    url, name = services.create_pg_database()
    try:
        yield url
    finally:
        services.drop_pg_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store on each backend: SQLite (the embedded default), then the real PostgreSQL."""
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'jp.db'}")
        yield s
        s.dispose()
        return
    url, name = services.create_pg_database()
    s = Store(url)
    try:
        yield s
    finally:
        s.dispose()
        services.drop_pg_database(name)


@pytest.fixture(scope="session")
def docker_host() -> str:
    """DOCKER_HOST of a real engine that has the busybox test image."""
    return services.require_docker()
