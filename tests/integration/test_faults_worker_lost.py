"""Faults with real parts: a worker killed mid-job, and a job delivered again after its end.

Every process a test starts is stopped by its PID or data directory.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests import workers
from tests.integration.exactly_once_support import fast_env
from tests.integration.fault_support import (
    JobView,
    PrivateRedis,
    ended,
    job_reports,
    open_store,
    process_gone,
    running_with_samples,
    started,
    submit,
    view,
)
from tests.polling import wait_for

pytestmark = pytest.mark.integration


# ---------------------------------------------------------------- worker killed mid-job


def test_worker_killed_mid_job_is_redelivered_to_another_worker(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    # A lease of 3 s swept every second: the killed worker's job runs again within seconds
    # (the visibility timeout is no longer how it comes back).
    env = fast_env(private_redis.url, pg_url, tmp_path / "data")
    a = workers.WorkerProcess(env, name="wa", queues="cpu")
    b = workers.WorkerProcess(env, name="wb", queues="cpu")
    pidfile = tmp_path / "pids"
    with started(a, b), open_store(pg_url) as store:
        job_id = submit(env, job_script, pidfile, seconds=2.0)
        first = wait_for(lambda: running_with_samples(store, job_id), 30, "the job running")
        assert first.worker is not None
        victim, survivor = (a, b) if first.worker.startswith("wa@") else (b, a)
        victim.kill(signal.SIGKILL)
        killed_at = time.monotonic()
        samples_before_kill = first.sample_attempts.count(1)

        orphan = int(wait_for(lambda: pidfile.read_text().split(), 5, "the job's pid")[0])
        wait_for(lambda: process_gone(orphan), 10, f"the orphaned job process {orphan} to die")

        def second_running() -> JobView | None:
            v = view(store, job_id)
            return v if v.attempts >= 2 else None

        wait_for(second_running, 60, "the job to be delivered again")
        redelivery_s = time.monotonic() - killed_at
        done = wait_for(lambda: ended(store, job_id), 30, "the end")
        print(f"redelivery after SIGKILL: {redelivery_s:.1f} s")

    assert done.status == "success", done
    assert done.attempts == 2
    assert done.history == ["queued", "running", "running", "success"]
    assert done.worker is not None and done.worker.startswith(survivor.name + "@")
    # The samples stored before the kill are kept, beside those of the second run.
    assert done.sample_attempts.count(1) >= samples_before_kill >= 1
    assert done.sample_attempts.count(2) >= 1
    assert len(pidfile.read_text().split()) == 2


def test_past_its_attempts_a_killed_job_ends_lost(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    env = fast_env(private_redis.url, pg_url, tmp_path / "data", JOBPROBE_MAX_ATTEMPTS="1")
    first_worker = workers.WorkerProcess(env, name="wfirst", queues="cpu")
    pidfile = tmp_path / "pids"
    with open_store(pg_url) as store:
        with started(first_worker):
            job_id = submit(env, job_script, pidfile, seconds=2.0)
            running = wait_for(lambda: running_with_samples(store, job_id), 30, "the job running")
            first_worker.kill(signal.SIGKILL)
        samples_before_kill = running.sample_attempts.count(1)
        second_worker = workers.WorkerProcess(env, name="wsecond", queues="cpu")
        with started(second_worker):
            done = wait_for(
                lambda: ended(store, job_id),
                60,
                "the redelivered job to end",
            )

    assert done.status == "lost", done
    assert done.history == ["queued", "running", "lost"]
    assert done.error is not None and "worker lost" in done.error
    assert done.attempts == 1
    assert done.sample_attempts.count(1) >= samples_before_kill >= 1
    assert len(pidfile.read_text().split()) == 1  # it never ran a second time


# ---------------------------------------------------------------- delivered again after its end


def test_an_ended_job_delivered_again_gets_its_one_report(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    import redis

    from jobprobe.worker.app import RUN_SIMULATION, create_app
    from jobprobe.worker.settings import load_settings

    env = workers.jobprobe_env(private_redis.url, pg_url, tmp_path / "data")
    settings = load_settings(
        broker_url=private_redis.url, database_url=pg_url, data_dir=tmp_path / "data",
        queue_cpu=env["JOBPROBE_QUEUE_CPU"], queue_analysis=env["JOBPROBE_QUEUE_ANALYSIS"],
    )  # fmt: skip
    broker = redis.Redis.from_url(private_redis.url)
    analyses = settings.queue_analysis  # kombu's list of the queue's messages
    pidfile = tmp_path / "pids"
    runner = workers.WorkerProcess(env, name="wrun", queues="cpu")
    with started(runner), open_store(pg_url) as store:
        job_id = submit(env, job_script, pidfile, seconds=0.2)
        wait_for(lambda: ended(store, job_id), 60, "the job", context=runner.log)
        wait_for(lambda: broker.llen(analyses) == 1, 30, "its analysis queued")
        broker.delete(analyses)  # lost with a worker killed between the commit and the ack
        create_app(settings).send_task(RUN_SIMULATION, args=[job_id], queue=settings.queue_cpu)
        wait_for(
            lambda: broker.llen(analyses) == 1, 30, "the analysis queued again",
            context=runner.log,
        )  # fmt: skip
    analyst = workers.WorkerProcess(env, name="wanalysis", queues="analysis")
    with started(analyst), open_store(pg_url) as store:
        reports = wait_for(
            lambda: job_reports(store, job_id), 60, "the report", context=analyst.log
        )
        done = view(store, job_id)
    broker.close()
    assert len(reports) == 1 and reports[0]["body"]["status"] == "success", reports
    assert done.attempts == 1 and len(pidfile.read_text().split()) == 1  # it never ran twice
