"""Exactly once when a job's message comes more than once: delivered twice, ``enqueue`` called
twice, a countdown retry held past the visibility timeout and restored to another worker. The
claim is fenced: a delivery while the job's lease is alive, or after its end, does nothing.

Every process a test starts is stopped by its PID.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import workers
from tests.integration.exactly_once_support import (
    create,
    fast_env,
    runs,
    settings_of,
)
from tests.integration.fault_support import (
    PrivateRedis,
    ended,
    open_store,
    running_with_samples,
    started,
)
from tests.polling import wait_for

pytestmark = pytest.mark.integration


def _deliveries(task_id: str, *procs: workers.WorkerProcess) -> int:
    """How many deliveries of message ``task_id`` the workers finished."""
    needle = f"[{task_id}] succeeded"
    return sum(p.log().count(needle) for p in procs)


def test_a_message_delivered_twice_runs_the_job_once(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    from jobprobe.worker.app import RUN_SIMULATION, create_app

    env = fast_env(private_redis.url, pg_url, tmp_path / "data")
    settings = settings_of(env)
    app = create_app(settings)
    pidfile = tmp_path / "pids"
    w = workers.WorkerProcess(env, name="wtwice", queues="cpu", concurrency=2)
    with started(w), open_store(pg_url) as store:
        job_id = create(settings, job_script, pidfile, seconds=3.0)
        first = app.send_task(RUN_SIMULATION, args=[job_id], queue=settings.queue_cpu)
        wait_for(lambda: running_with_samples(store, job_id), 30, "the job running")
        # The same message again (same task id), while the first delivery runs the job.
        app.send_task(RUN_SIMULATION, args=[job_id], queue=settings.queue_cpu, task_id=first.id)
        wait_for(lambda: _deliveries(first.id, w) == 2, 30, "both deliveries", context=w.log)
        done = wait_for(lambda: ended(store, job_id), 30, "the end", context=w.log)
    assert done.status == "success" and done.attempts == 1, done
    assert done.history == ["queued", "running", "success"]
    assert len(runs(pidfile)) == 1


def test_enqueue_called_twice_runs_the_job_once(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    from jobprobe.tasks import submission

    env = fast_env(private_redis.url, pg_url, tmp_path / "data")
    settings = settings_of(env)
    pidfile = tmp_path / "pids"
    a = workers.WorkerProcess(env, name="wea", queues="cpu")
    b = workers.WorkerProcess(env, name="web", queues="cpu")
    with started(a, b), open_store(pg_url) as store:
        job_id = create(settings, job_script, pidfile, seconds=2.0)
        submission.enqueue(job_id, settings=settings)
        submission.enqueue(job_id, settings=settings)
        done = wait_for(lambda: ended(store, job_id), 60, "the end", context=a.log)
        wait_for(
            lambda: sum(p.log().count("jobprobe.run_simulation[") for p in (a, b)) >= 4,
            30, "both messages taken and finished",
        )  # fmt: skip
    assert done.status == "success" and done.attempts == 1, done
    assert done.history == ["queued", "running", "success"]
    assert len(runs(pidfile)) == 1


def test_a_countdown_retry_held_past_the_visibility_timeout_runs_the_job_once(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    from jobprobe.worker.app import RUN_SIMULATION, create_app

    # The held message is restored to a worker after 10 s, while the first still holds it (as
    # a countdown retry during a database outage was): two deliveries of one message at once.
    # (A visibility timeout below MAX_TIMEOUT is refused: both are short here.)
    # Reconciliation must not publish a copy of its own meanwhile: REQUEUE_AFTER is long.
    short = {"JOBPROBE_VISIBILITY_TIMEOUT": "10", "JOBPROBE_MAX_TIMEOUT": "10",
             "JOBPROBE_DEFAULT_TIMEOUT": "10", "JOBPROBE_REQUEUE_AFTER": "120"}  # fmt: skip
    env = fast_env(private_redis.url, pg_url, tmp_path / "data", **short)
    settings = settings_of(env)
    app = create_app(settings)
    pidfile = tmp_path / "pids"
    a = workers.WorkerProcess(env, name="wca", queues="cpu")
    b = workers.WorkerProcess(env, name="wcb", queues="cpu")
    with started(a, b), open_store(pg_url) as store:
        job_id = create(settings, job_script, pidfile, seconds=5.0, timeout=10)
        held = app.send_task(RUN_SIMULATION, args=[job_id], queue=settings.queue_cpu, countdown=20)
        wait_for(lambda: running_with_samples(store, job_id), 30, "the job running")
        wait_for(lambda: _deliveries(held.id, a, b) >= 2, 60, "the held copy's delivery too",
                 context=lambda: a.log()[-2000:] + b.log()[-2000:])  # fmt: skip
        done = wait_for(lambda: ended(store, job_id), 60, "the end", context=a.log)
    assert done.status == "success" and done.attempts == 1, done
    assert done.history == ["queued", "running", "success"]
    assert len(runs(pidfile)) == 1
