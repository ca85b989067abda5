"""Exactly once when Redis loses its data: jobs queued in the store whose messages are gone are
published again by reconciliation, and each runs once.

Every process a test starts is stopped by its PID.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from jobprobe.store import jobs as store_jobs
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


def test_beats_sweep_publishes_a_job_no_message_will_deliver(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    import redis

    from jobprobe.tasks.reconcile import reconcile
    from jobprobe.worker.app import create_app

    env = fast_env(private_redis.url, pg_url, tmp_path / "data")
    settings = settings_of(env)
    pidfile = tmp_path / "pids"
    create_app(settings)  # the current app: the task reads its settings, publishes through it
    job_id = create(settings, job_script, pidfile, seconds=0.1)  # stored, never published
    broker = redis.Redis.from_url(private_redis.url)
    try:
        assert reconcile.apply().get() == {  # too young: left alone
            "republished": [], "lost": [], "cancelled": [], "publish_failed": [],
        }  # fmt: skip
        with open_store(pg_url) as store, store.session() as session:
            job = store_jobs.get_job(session, job_id)
            job.submitted_at = job.submitted_at - timedelta(seconds=10)
        assert reconcile.apply().get()["republished"] == [job_id]
        assert broker.llen(settings.queue_cpu) == 1
        worker = workers.WorkerProcess(env, name="wbeat", queues="cpu")
        with started(worker), open_store(pg_url) as store:
            wait_for(lambda: all_ended(store, [job_id]), 60, "the job", context=worker.log)
            figures = burst(store, {job_id: pidfile})
    finally:
        broker.close()
    assert figures.by_status == {"success": 1} and figures.runs == {1: 1}, figures
