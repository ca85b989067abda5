"""The CLI as a user runs it, embedded mode (nothing configured): subprocesses, real files."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import workers

pytestmark = pytest.mark.e2e
ROOT = workers.ROOT


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
    return base | {"JOBPROBE_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return workers.run_cli(args, env)


def test_quick_start_runs_a_real_job_and_prints_its_profile(env: dict[str, str]) -> None:
    out = cli(
        [
            "submit",
            "python",
            "examples/poisson.py",
            "--param",
            "n=96",
            "--param",
            "iterations=6000",
            "--wait",
        ],
        env,
    )
    assert out.returncode == 0, out.stderr
    assert (
        "status       success (exit code 0)" in out.stdout or "success (exit code 0)" in out.stdout
    )
    for line in ("CPU time", "peak memory", "samples", "max_error"):
        assert line in out.stdout


def test_json_record_has_the_keystone_fields(env: dict[str, str]) -> None:
    out = cli(
        [
            "submit",
            "bash",
            "examples/io_burst.sh",
            "--param",
            "mb=16",
            "--label",
            "user=ana",
            "--json",
        ],
        env,
    )
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    assert rec["status"] == "success" and rec["tool"] == "bash" and rec["script"] == "io_burst.sh"
    assert set(rec["resource_usage"]) == {
        "cpu_user_seconds",
        "cpu_system_seconds",
        "cpu_total_seconds",
        "memory_peak_mb",
    }
    prof = rec["detailed_profile"]
    for key in ("duration_seconds", "samples_collected", "sampling_interval_seconds", "cpu", "memory",
                "process_cpu", "process_memory", "io_stats", "network", "gpu_stats", "container_stats"):  # fmt: skip
        assert key in prof
    assert prof["io_stats"]["write_mb"] == pytest.approx(16, rel=0.25)
    assert (
        prof["gpu_stats"] == {} and "gpu_nvidia" in prof["unavailable"]
    )  # no GPU here: empty + reason

    history = json.loads(cli(["job-history", "--label", "user=ana", "--json"], env).stdout)
    assert [j["task_id"] for j in history["jobs"]] == [rec["task_id"]]
    table = cli(["job-history"], env).stdout
    assert rec["task_id"][:8] in table and "success" in table
    details = cli(["job-details", rec["task_id"][:8]], env)
    assert details.returncode == 0 and "history:" in details.stdout
    logs = cli(["logs", rec["task_id"][:8]], env)
    assert "wrote and read 16 MB" in logs.stdout
    stats = json.loads(cli(["job-stats", "--json"], env).stdout)
    assert stats["groups"][0]["group"] == "bash" and stats["groups"][0]["jobs"] == 1


def test_exit_code_follows_the_job(env: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "fail.sh"
    script.write_text("exit 4\n")
    assert cli(["submit", "bash", str(script), "--wait"], env).returncode == 1
    # Embedded mode runs the job to its end with or without --wait: the exit code is its own.
    assert cli(["submit", "bash", str(script)], env).returncode == 1
    assert cli(["submit", "bash", str(script), "--json"], env).returncode == 1
    script.write_text("sleep 20\n")
    assert cli(["submit", "bash", str(script), "--timeout", "0.5", "--wait"], env).returncode == 124


def test_tools_and_workers_in_embedded_mode(env: dict[str, str]) -> None:
    tools = json.loads(cli(["tools", "--json"], env).stdout)
    assert {"python", "bash"} <= tools.keys()
    workers_out = json.loads(cli(["workers", "--json"], env).stdout)
    assert workers_out == {"mode": "embedded", "workers": []}


def test_console_script_is_installed() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pip", "show", "jobprobe"], capture_output=True, text=True
    )
    if out.returncode != 0:
        pytest.skip("jobprobe is not pip-installed here (pip install -e .)")
    from shutil import which

    assert which("jobprobe") is not None


def test_an_embedded_jobs_queue_wait_is_not_the_commands_start_up(
    env: dict[str, str], tmp_path: Path
) -> None:
    """The command loads what runs the job before storing it: a job that runs at once waited
    a small part of the command's time (it used to count the task layer's import, 1-4 s)."""
    script = tmp_path / "quick.sh"
    script.write_text("true\n")
    started = time.monotonic()
    out = cli(["submit", "bash", str(script), "--json"], env)
    wall = time.monotonic() - started
    assert out.returncode == 0, out.stderr
    waited = json.loads(out.stdout)["queue_wait_seconds"]
    assert 0 <= waited < wall / 4, (waited, wall)


def test_job_details_timeseries_prints_every_sample(env: dict[str, str]) -> None:
    out = cli(["submit", "python", "examples/poisson.py", "--param", "n=96", "--param",
               "iterations=12000", "--json"], env)  # fmt: skip
    record = json.loads(out.stdout)
    plain = cli(["job-details", record["task_id"]], env).stdout
    with_samples = cli(["job-details", record["task_id"], "--timeseries"], env).stdout
    count = record["detailed_profile"]["samples_collected"]
    assert f"samples ({count}):" in with_samples and "samples (" not in plain
    table = with_samples.split(f"samples ({count}):\n", 1)[1].splitlines()
    assert table[0].split()[:3] == ["T", "s", "CPU"] and len(table) == 1 + count


def test_the_live_line_shows_each_sample_from_the_jobs_start(env: dict[str, str]) -> None:
    """On a terminal the live line is redrawn with every sample (0.5 s), its clock counting
    from the job's start, with CPU and memory from the first sample on."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "submit", "python", "examples/poisson.py",
         "--param", "n=128", "--param", "iterations=40000", "--wait"],
        cwd=ROOT, env=workers.JOB_USER | env, stdin=subprocess.DEVNULL, stdout=child,
        stderr=child,
    )  # fmt: skip
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the child side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert proc.wait(timeout=120) == 0
    text = b"".join(chunks).decode(errors="replace").replace("\r", "\n")
    running = [line.split() for line in text.splitlines() if line.startswith("running")]
    clocks = [float(parts[1].rstrip("s")) for parts in running]
    assert clocks and clocks[0] < 1.0, running  # from the job's start, not the command's
    with_figures = [parts for parts in running if "CPU" in parts and parts[3] != "-"]
    assert len(with_figures) >= 2, running
