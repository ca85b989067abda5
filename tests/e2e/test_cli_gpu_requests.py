"""A GPU request nobody can meet: refused in embedded mode, warned about when no worker takes it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services, workers

pytestmark = pytest.mark.e2e
SCRIPT = "examples/poisson.py"


def test_embedded_mode_refuses_gpus_it_does_not_have(tmp_path: Path) -> None:
    # CUDA_VISIBLE_DEVICES="" hides every GPU, so the request cannot be met on any machine.
    env = {"JOBPROBE_DATA_DIR": str(tmp_path), "CUDA_VISIBLE_DEVICES": ""}
    out = workers.run_cli(["submit", "python", SCRIPT, "--gpus", "1", "--wait"], env)
    assert out.returncode == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --gpus 1: this machine has 0 GPU(s)")
    assert "embedded mode runs the job here" in lines[0]
    history = workers.run_cli(["job-history", "--json"], env)
    assert json.loads(history.stdout)["jobs"] == []


@pytest.fixture
def distributed(redis_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    url, name = services.create_pg_database()
    try:
        yield workers.jobprobe_env(workers.isolated_redis_db(redis_url), url, tmp_path / "data")
    finally:
        services.drop_pg_database(name)


def test_a_gpu_job_no_live_worker_takes_is_warned_about(distributed: dict[str, str]) -> None:
    out = workers.run_cli(["submit", "python", SCRIPT, "--gpus", "1", "--json"], distributed)
    assert out.returncode == 0, out.stderr
    queue = distributed["JOBPROBE_QUEUE_GPU"]
    assert f"warning: no live worker takes the queue {queue!r}" in out.stderr
    job_id = json.loads(out.stdout)["task_id"]
    cancel = workers.run_cli(["cancel", job_id], distributed)
    assert cancel.returncode == 0, cancel.stderr

    worker = workers.WorkerProcess(distributed, queues="gpu")
    try:
        worker.wait_ready()
        out = workers.run_cli(["submit", "python", SCRIPT, "--gpus", "1", "--json"], distributed)
        assert out.returncode == 0, out.stderr
        assert "warning" not in out.stderr
        job_id = json.loads(out.stdout)["task_id"]
        workers.run_cli(["cancel", job_id], distributed)
    finally:
        worker.stop()
