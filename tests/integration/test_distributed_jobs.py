"""A job's whole path with real parts: CLI process -> Redis -> Celery worker process -> PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import workers
from tests.polling import wait_for

pytestmark = pytest.mark.integration

KEYSTONE_FIELDS = {
    "task_id", "tool", "script", "params", "start_time", "end_time", "duration_seconds", "status",
    "returncode", "resource_usage", "detailed_profile",
}  # fmt: skip
PROFILE_FIELDS = {
    "duration_seconds", "samples_collected", "sampling_interval_seconds", "cpu", "memory",
    "process_cpu", "process_memory", "io_stats", "network", "gpu_stats", "container_stats",
}  # fmt: skip


@pytest.fixture
def cluster(redis_url: str, pg_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = workers.jobprobe_env(workers.isolated_redis_db(), pg_url, tmp_path / "data")
    worker = workers.WorkerProcess(env, concurrency=2)
    try:
        worker.wait_ready()
        yield env
    finally:
        worker.stop()


def test_cli_job_runs_on_a_worker_and_lands_in_postgres(
    cluster: dict[str, str], tmp_path: Path
) -> None:
    script = tmp_path / "work.py"
    script.write_text(
        "import os, json, time\n"
        "t = time.process_time()\n"
        "while time.process_time() - t < 1.2: pass\n"
        "print('n is', os.environ['SIM_N'])\n"
        "json.dump({'throughput': 42}, open(os.environ['JOBPROBE_METRICS_FILE'], 'w'))\n"
    )
    out = workers.run_cli(
        [
            "submit",
            "python",
            str(script),
            "--param",
            "n=7",
            "--label",
            "team=cfd",
            "--wait",
            "--json",
        ],
        cluster,
    )
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    assert rec.keys() >= KEYSTONE_FIELDS
    assert rec["detailed_profile"].keys() >= PROFILE_FIELDS
    assert rec["status"] == "success" and rec["returncode"] == 0
    assert rec["queue"] == cluster["JOBPROBE_QUEUE_CPU"] and rec["worker"].startswith("w")
    assert rec["params"] == {"n": 7} and rec["labels"] == {"team": "cfd"}
    assert rec["metrics"] == {"throughput": 42}
    assert rec["attempts"] == 1  # delivered to one queue, run once
    assert "n is 7" in rec["logs"]["stdout_tail"]
    assert rec["resource_usage"]["cpu_total_seconds"] >= 1.0
    assert rec["detailed_profile"]["samples_collected"] >= 2
    assert [e["status"] for e in rec["status_history"]] == ["queued", "running", "success"]

    details = workers.run_cli(
        ["job-details", rec["task_id"][:10], "--timeseries", "--json"], cluster
    )
    assert details.returncode == 0, details.stderr
    series = json.loads(details.stdout)["detailed_profile"]["timeseries"]
    assert (
        len(series["t"]) >= 2 and max(v for v in series["proc_cpu_percent"] if v is not None) > 50
    )

    history = json.loads(
        workers.run_cli(["job-history", "--label", "team=cfd", "--json"], cluster).stdout
    )
    assert [j["task_id"] for j in history["jobs"]] == [rec["task_id"]]
    stats = json.loads(
        workers.run_cli(["job-stats", "--by", "label:team", "--json"], cluster).stdout
    )
    assert stats["groups"][0]["group"] == "cfd" and stats["groups"][0]["succeeded"] == 1


def test_failed_and_timed_out_jobs_exit_with_their_outcome(
    cluster: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.sh"
    bad.write_text("echo about to fail >&2\nexit 3\n")
    out = workers.run_cli(["submit", "bash", str(bad), "--wait", "--json"], cluster)
    rec = json.loads(out.stdout)
    assert out.returncode == 1 and rec["status"] == "failed" and rec["returncode"] == 3
    assert "about to fail" in rec["error"]

    slow = tmp_path / "slow.sh"
    slow.write_text("sleep 30\n")
    out = workers.run_cli(
        ["submit", "bash", str(slow), "--timeout", "1", "--wait", "--json"], cluster
    )
    rec = json.loads(out.stdout)
    assert out.returncode == 124 and rec["status"] == "timeout"
    assert rec["duration_seconds"] < 15


def test_cancel_a_running_job(cluster: dict[str, str], tmp_path: Path) -> None:
    slow = tmp_path / "slow.sh"
    slow.write_text("sleep 60\n")
    queued = json.loads(workers.run_cli(["submit", "bash", str(slow), "--json"], cluster).stdout)
    job_id = queued["task_id"]

    def status_is(status: str) -> dict[str, Any] | None:
        rec = json.loads(workers.run_cli(["job-details", job_id, "--json"], cluster).stdout)
        return rec if rec["status"] == status else None

    wait_for(lambda: status_is("running"), 30, "the job to start")
    assert workers.run_cli(["cancel", job_id], cluster).returncode == 0
    rec = wait_for(lambda: status_is("cancelled"), 30, "the job to be cancelled")
    assert rec["status"] == "cancelled" and rec["duration_seconds"] < 30
