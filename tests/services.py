"""Reaching the real services the tests use (Redis, PostgreSQL, Docker).

Under CI (``CI=true``) a missing service is a failure; elsewhere the test is skipped with
the reason, never passed silently.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_USER = os.environ.get("JOBPROBE_TEST_PG_USER", "postgres")
DOCKER_SOCKET = Path(
    os.environ.get("JOBPROBE_TEST_DOCKER_SOCKET", "/tmp/jobprobe-docker/docker.sock")
)
BUSYBOX_IMAGE = "jobprobe-busybox:local"


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Fail under CI, skip elsewhere."""
    if under_ci():
        pytest.fail(f"required service missing under CI: {reason}")
    pytest.skip(reason)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_redis() -> str:
    if not port_open(REDIS_HOST, REDIS_PORT):
        unavailable(f"Redis is not listening on {REDIS_HOST}:{REDIS_PORT}")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}"


def require_postgres() -> None:
    if not port_open(PG_HOST, PG_PORT):
        unavailable(f"PostgreSQL is not listening on {PG_HOST}:{PG_PORT}")


def create_pg_database(prefix: str = "jobprobe_test") -> tuple[str, str]:
    """Create a fresh PostgreSQL database; return (sqlalchemy_url, name)."""
    require_postgres()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    return create_pg_database_named(name), name


def create_pg_database_named(name: str) -> str:
    """Create the PostgreSQL database ``name``; return its sqlalchemy URL."""
    import psycopg

    with psycopg.connect(
        f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(
        f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def require_docker() -> str:
    """Return a DOCKER_HOST URL for a reachable engine with the busybox test image."""
    host = os.environ.get("DOCKER_HOST") or f"unix://{DOCKER_SOCKET}"
    try:
        import docker
    except ImportError:
        unavailable("the docker SDK is not installed (pip install 'jobprobe[docker]')")
    try:
        client = docker.DockerClient(base_url=host, timeout=5)
        client.ping()
        client.images.get(BUSYBOX_IMAGE)
        client.close()
    except Exception as exc:  # any failure here means "no usable engine"
        unavailable(
            f"no Docker engine with image {BUSYBOX_IMAGE} at {host} "
            f"(start one with .ci/dockerd-up): {type(exc).__name__}"
        )
    return host
