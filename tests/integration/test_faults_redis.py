"""Faults with real parts: Redis restarted under the workers, or gone when a job ends.

Every process a test starts is stopped by its PID or data directory.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests import workers
from tests.integration.fault_support import (
    PrivateRedis,
    ended,
    open_store,
    running_with_samples,
    started,
    submit,
)
from tests.polling import wait_for

pytestmark = pytest.mark.integration


# ---------------------------------------------------------------- Redis restarted


def test_worker_reconnects_after_redis_restarts(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    env = workers.jobprobe_env(private_redis.url, pg_url, tmp_path / "data")
    worker = workers.WorkerProcess(env, name="wredis", queues="cpu")
    with started(worker):
        private_redis.stop()
        private_redis.start()  # same port, empty: the worker must reconnect by itself
        t0 = time.monotonic()
        out = workers.run_cli(
            ["submit", "python", str(job_script), "--param", f"pidfile={tmp_path / 'pids'}",
             "--param", "seconds=0.3", "--wait", "--json"],
            env, timeout=90,
        )  # fmt: skip
        print(f"job after Redis restart ended in {time.monotonic() - t0:.1f} s")
        assert worker.proc.poll() is None, worker.log()[-3000:]
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    assert rec["status"] == "success" and rec["worker"].startswith("wredis@")


def test_redis_down_when_a_job_ends_keeps_the_outcome_and_says_what_was_skipped(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    env = workers.jobprobe_env(private_redis.url, pg_url, tmp_path / "data")
    worker = workers.WorkerProcess(env, name="wnobroker", queues="cpu")
    with started(worker), open_store(pg_url) as store:
        # Long enough to outlast the wait for its first samples on a busy machine.
        job_id = submit(env, job_script, tmp_path / "pids", seconds=4.0)
        wait_for(lambda: running_with_samples(store, job_id), 30, "the job running")
        private_redis.stop()  # the job ends while the broker is gone
        done = wait_for(lambda: ended(store, job_id), 30, "the job's end")
        wait_for(
            lambda: "analysis was not queued" in worker.log(),
            30,
            "the worker's warning",
            context=worker.log,
        )
        log = worker.log()
        private_redis.start()  # the fixture stops it again
    assert done.status == "success", done
    warning = next(line for line in log.splitlines() if "analysis was not queued" in line)
    assert job_id in warning and f"jobprobe report {job_id}" in warning
    # The job task itself succeeded: it ran and recorded the job; only the follow-up is missing.
    assert "raised unexpected" not in log, log[-3000:]
