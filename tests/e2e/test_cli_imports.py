"""The read commands start fast: they read the store in plain SQL and import neither the task
layer, Celery, Alembic, SQLAlchemy, pydantic (Settings) nor the numerical and plotting stack
(checked with ``python -X importtime`` as a user runs them), on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import services, workers

pytestmark = pytest.mark.e2e

HEAVY = ("celery", "kombu", "alembic", "numpy", "scipy", "matplotlib", "jobprobe.tasks",
         "sqlalchemy", "pydantic", "jobprobe.worker.settings", "psycopg")  # fmt: skip
# On the embedded SQLite store no PostgreSQL driver has any business either.
HEAVY_ON_SQLITE = (*HEAVY, "psycopg2")


def imported(args: list[str], env: dict[str, str]) -> set[str]:
    """The modules ``python -X importtime cli.py ARGS`` imported (the command must succeed)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", str(workers.ROOT / "cli.py"), *args],
        cwd=workers.ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines}


def heavy_imports(env: dict[str, str], job_id: str, heavy: tuple[str, ...]) -> dict[str, list[str]]:
    """Per read command, the heavy modules it imported."""
    found = {}
    for args in (["job-history"], ["job-details", job_id], ["job-stats"], ["logs", job_id],
                 ["tools"]):  # fmt: skip
        loaded = imported(args, env)
        assert "jobprobe.store.reading" in loaded or args == ["tools"], args  # the lean path
        found[args[0]] = sorted(
            m for m in loaded if any(m == h or m.startswith(h + ".") for h in heavy)
        )
    return found


def test_read_commands_import_nothing_heavy(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
    env = base | {"JOBPROBE_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(workers.ROOT)}
    script = tmp_path / "hello.sh"
    script.write_text("echo hello\n")
    out = workers.run_cli(["submit", "bash", str(script), "--json"], env)
    assert out.returncode == 0, out.stderr
    job_id = json.loads(out.stdout)["task_id"]
    found = heavy_imports(env, job_id, HEAVY_ON_SQLITE)
    assert found == {name: [] for name in found}, found


def test_on_postgresql_only_the_light_driver(tmp_path: Path) -> None:
    url, name = services.create_pg_database()
    try:
        base = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
        env = base | {"JOBPROBE_DATA_DIR": str(tmp_path / "data"), "JOBPROBE_DATABASE_URL": url,
                      "PYTHONPATH": str(workers.ROOT)}  # fmt: skip
        script = tmp_path / "hello.sh"
        script.write_text("echo hello\n")
        out = workers.run_cli(["submit", "bash", str(script), "--wait", "--json"], env)
        assert out.returncode == 0, out.stderr
        found = heavy_imports(env, json.loads(out.stdout)["task_id"], HEAVY)
        assert found == {name: [] for name in found}, found
        assert "psycopg2._psycopg" in imported(["job-history"], env)  # the C driver read it
    finally:
        services.drop_pg_database(name)
