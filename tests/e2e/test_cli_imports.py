"""The read commands start fast: they import the store, never the task layer, Celery, Alembic
or the numerical and plotting stack (checked with ``python -X importtime`` as a user runs them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import workers

pytestmark = pytest.mark.e2e

HEAVY = ("celery", "kombu", "alembic", "numpy", "scipy", "matplotlib", "jobprobe.tasks")
# On the embedded SQLite store the PostgreSQL driver and dialect have no business either.
HEAVY_ON_SQLITE = (*HEAVY, "psycopg", "sqlalchemy.dialects.postgresql")


def imported(args: list[str], env: dict[str, str]) -> set[str]:
    """The modules ``python -X importtime cli.py ARGS`` imported (the command must succeed)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", str(workers.ROOT / "cli.py"), *args],
        cwd=workers.ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines}


def test_read_commands_import_nothing_heavy(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
    env = base | {"JOBPROBE_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(workers.ROOT)}
    script = tmp_path / "hello.sh"
    script.write_text("echo hello\n")
    out = workers.run_cli(["submit", "bash", str(script), "--json"], env)
    assert out.returncode == 0, out.stderr
    job_id = json.loads(out.stdout)["task_id"]
    for args in (["job-history"], ["job-details", job_id], ["job-stats"], ["logs", job_id],
                 ["tools"]):  # fmt: skip
        heavy = sorted(
            m
            for m in imported(args, env)
            if any(m == h or m.startswith(h + ".") for h in HEAVY_ON_SQLITE)
        )
        assert heavy == [], f"{args[0]} imported {heavy[:5]}"
