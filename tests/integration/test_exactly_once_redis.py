"""Exactly once when Redis loses its data: jobs queued in the store whose messages are gone are
published again by reconciliation, and each runs once.

Every process a test starts is stopped by its PID.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests import workers
from tests.integration.exactly_once_support import (
    all_ended,
    burst,
    create,
    fast_env,
    settings_of,
)
from tests.integration.fault_support import PrivateRedis, open_store, started
from tests.polling import wait_for

pytestmark = pytest.mark.integration

JOBS = 50


def test_redis_restarted_empty_with_50_jobs_queued_runs_each_once(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    from jobprobe.tasks import submission

    env = fast_env(private_redis.url, pg_url, tmp_path / "data")
    settings = settings_of(env)
    jobs: dict[str, Path] = {}
    for i in range(JOBS):  # queued with no worker running: the messages sit in Redis
        pidfile = tmp_path / f"pids-{i}"
        job_id = create(settings, job_script, pidfile, seconds=0.05)
        submission.enqueue(job_id, settings=settings)
        jobs[job_id] = pidfile
    private_redis.stop()
    private_redis.start()  # no persistence: every message is gone
    back = time.monotonic()
    a = workers.WorkerProcess(env, name="wr1", queues="cpu", concurrency=2)
    b = workers.WorkerProcess(env, name="wr2", queues="cpu", concurrency=2)
    with started(a, b), open_store(pg_url) as store:
        wait_for(
            lambda: all_ended(store, list(jobs)), 120, "all 50 jobs to end after Redis returned",
            poll=0.5, context=lambda: a.log()[-2000:] + b.log()[-2000:],
        )  # fmt: skip
        recovered_s = time.monotonic() - back
        figures = burst(store, jobs)
    print(figures.line("redis restarted empty", recovery_s=f"{recovered_s:.1f}"))
    assert figures.by_status == {"success": JOBS}, figures
    assert figures.runs == {1: JOBS}, figures  # each ran exactly once
    assert figures.success_events == {1: JOBS}, figures
    assert recovered_s < 120
