"""Settings that cannot work are refused at start: one line naming the setting, exit 2, nothing stored."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests import workers

pytestmark = pytest.mark.e2e

CASES: list[tuple[str, dict[str, str], str]] = [
    # The client would write SQLite while the workers read their PostgreSQL: the job would stay
    # queued forever.
    ("broker-without-database", {"JOBPROBE_BROKER_URL": "redis://127.0.0.1:1/0"},
     "JOBPROBE_DATABASE_URL"),
    ("empty-queue-name", {"JOBPROBE_QUEUE_CPU": ""}, "JOBPROBE_QUEUE_CPU"),
    ("blank-queue-name", {"JOBPROBE_QUEUE_GPU": "  "}, "JOBPROBE_QUEUE_GPU"),
    ("visibility-below-longest-job",
     {"JOBPROBE_VISIBILITY_TIMEOUT": "60", "JOBPROBE_MAX_TIMEOUT": "3600"},
     "JOBPROBE_VISIBILITY_TIMEOUT"),
    ("default-timeout-above-maximum",
     {"JOBPROBE_DEFAULT_TIMEOUT": "7200", "JOBPROBE_MAX_TIMEOUT": "3600"},
     "JOBPROBE_DEFAULT_TIMEOUT"),
    ("database-not-a-url", {"JOBPROBE_DATABASE_URL": "notaurl"}, "JOBPROBE_DATABASE_URL"),
    ("database-unsupported", {"JOBPROBE_DATABASE_URL": "mysql://jp:hunter2pw@127.0.0.1/jp"},
     "JOBPROBE_DATABASE_URL"),
    ("data-dir-cannot-be-made", {"JOBPROBE_DATA_DIR": "/proc/nope"}, "JOBPROBE_DATA_DIR"),
]  # fmt: skip


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
    return base | {"JOBPROBE_DATA_DIR": str(data_dir), "PYTHONPATH": str(workers.ROOT)} | extra


@pytest.mark.parametrize(("extra", "setting"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("command", [["submit", "bash", "{script}", "--wait"], ["job-history"]])
def test_a_setting_that_cannot_work_is_one_line_and_stores_nothing(
    tmp_path: Path, extra: dict[str, str], setting: str, command: list[str]
) -> None:
    data_dir = tmp_path / "data"
    script = tmp_path / "s.sh"
    script.write_text("echo ran > /dev/null\n")
    argv = [str(script) if a == "{script}" else a for a in command]
    out = workers.run_cli(argv, _env(data_dir, **extra), timeout=60)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert len(lines) == 1 and lines[0].startswith(f"error: {setting}: "), out.stderr
    assert "hunter2pw" not in out.stderr and out.stdout == ""
    history = workers.run_cli(["job-history", "--json"], _env(data_dir), timeout=60)
    assert history.returncode == 0, history.stderr
    assert json.loads(history.stdout)["jobs"] == []


@pytest.mark.parametrize(("extra", "setting"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_worker_refuses_a_setting_that_cannot_work_in_one_line(
    tmp_path: Path, extra: dict[str, str], setting: str
) -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "jobprobe.worker.app", "worker", "-l", "WARNING"],
        cwd=workers.ROOT, env=_env(tmp_path / "data", **extra), capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith(f"error: {setting}: "), out.stderr[-2000:]
