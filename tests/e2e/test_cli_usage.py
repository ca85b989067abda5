"""Usage errors, click's own included, are one line and exit 2; an interrupt never says 'Aborted!'."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import workers

pytestmark = pytest.mark.e2e


def _env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
    return base | {"JOBPROBE_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(workers.ROOT)}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["job-details", "f5c9a"], "6 or more characters"),
        (["cancel", "abc"], "6 or more characters"),
        (["submit"], "Missing argument 'TOOL'"),
        (["no-such-command"], "No such command"),
        (["job-history", "--bogus"], "No such option '--bogus'"),
        (["job-history", "--limit", "x"], "--limit"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    out = workers.run_cli(args, _env(tmp_path), timeout=60)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines


def test_help_still_exits_0(tmp_path: Path) -> None:
    out = workers.run_cli(["job-history", "--help"], _env(tmp_path), timeout=60)
    assert out.returncode == 0 and "Usage:" in out.stdout, out.stderr


def test_a_double_ctrl_c_prints_no_aborted(tmp_path: Path) -> None:
    script = tmp_path / "long.sh"
    script.write_text("sleep 30\n")
    env = workers.JOB_USER | _env(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, str(workers.ROOT / "cli.py"), "submit", "bash", str(script), "--wait"],
        cwd=workers.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        jobs = tmp_path / "data" / "jobs"
        deadline = time.monotonic() + 60
        while not (jobs.is_dir() and any(jobs.glob("*/attempt-*/stdout.log"))):
            assert time.monotonic() < deadline, "the job never started"
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)  # polling the job's start, bounded by the deadline
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "Aborted!" not in stderr and "Traceback" not in stderr, stderr
