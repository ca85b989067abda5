"""No secret in what the CLI prints: a broker or database that cannot be reached, a bad setting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import workers

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
    return base | {"JOBPROBE_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(workers.ROOT)}


def test_an_unreachable_broker_is_named_without_its_password(env: dict[str, str]) -> None:
    env |= {
        "JOBPROBE_BROKER_URL": "redis://:brokerpass-31337@127.0.0.1:9/0",
        "JOBPROBE_DATABASE_URL": f"sqlite:///{env['JOBPROBE_DATA_DIR']}/jp.db",
    }
    out = workers.run_cli(["workers"], env, timeout=60)
    assert out.returncode != 0
    assert "brokerpass-31337" not in out.stdout + out.stderr
    assert "redis://:***@127.0.0.1:9/0" in out.stderr


def test_an_unreachable_database_is_named_without_its_password(env: dict[str, str]) -> None:
    env |= {"JOBPROBE_DATABASE_URL": "postgresql+psycopg://jp:dbpass-8675309@127.0.0.1:9/jp"}
    out = workers.run_cli(["job-history"], env, timeout=60)
    assert out.returncode != 0
    assert "dbpass-8675309" not in out.stdout + out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
