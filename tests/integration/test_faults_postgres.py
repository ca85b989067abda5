"""Faults with real parts: PostgreSQL down when a job ends, is claimed, or is analysed.

Every process a test starts is stopped by its PID or data directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import workers
from tests.integration.fault_support import (
    PrivatePostgres,
    PrivateRedis,
    ended,
    job_reports,
    open_store,
    running_with_samples,
    started,
    submit,
    view,
)
from tests.polling import wait_for

pytestmark = pytest.mark.integration


def test_postgres_down_when_a_job_ends_spools_and_replays(
    private_redis: PrivateRedis,
    private_pg: tuple[PrivatePostgres, str],
    tmp_path: Path,
    job_script: Path,
) -> None:
    pg, db_url = private_pg
    data_dir = tmp_path / "data"
    env = workers.jobprobe_env(private_redis.url, db_url, data_dir)
    # The worker runs the analyses too: a job's report must wait for its outcome's replay.
    worker = workers.WorkerProcess(env, name="wpg", queues="cpu,analysis")
    spooled = data_dir / "spool"
    with started(worker), open_store(db_url) as store:
        job_id = submit(env, job_script, tmp_path / "pids", seconds=3.0)
        wait_for(lambda: running_with_samples(store, job_id), 30, "the job running")
        store.dispose()
        pg.stop()
        spool_file = spooled / f"{job_id}.json"
        wait_for(spool_file.is_file, 30, f"the outcome spooled at {spool_file}", context=worker.log)
        assert worker.proc.poll() is None, "the worker died with the database"
        payload = json.loads(spool_file.read_text())
        assert payload["outcome"]["status"] == "success"

        pg.start()
        # The next job's delivery replays the spool first (beat does it every minute too).
        second = submit(env, job_script, tmp_path / "pids2", seconds=0.2)
        after = wait_for(lambda: ended(store, second), 60, "the next job", context=worker.log)
        assert after.status == "success", worker.log()[-3000:]
        assert not list(spooled.glob("*.json")), "the spool was not emptied"
        rec = json.loads(workers.run_cli(["job-details", job_id, "--json"], env, timeout=60).stdout)
        stored = view(store, job_id).sample_attempts
        reports = wait_for(
            lambda: job_reports(store, job_id), 60, "the job's report", context=worker.log
        )

    assert rec["status"] == "success" and rec["returncode"] == 0
    assert [e["status"] for e in rec["status_history"]] == ["queued", "running", "success"]
    # One report, written after the replay: of the finished job, not of a running one.
    assert len(reports) == 1 and reports[0]["body"]["status"] == "success", reports
    assert rec["duration_seconds"] >= 3.0 and rec["resource_usage"]["cpu_total_seconds"] > 0.3
    profile = rec["detailed_profile"]
    print(f"samples: collected {profile['samples_collected']}, stored {len(stored)}, "
          f"of which spooled {len(payload['samples'])}")  # fmt: skip
    assert profile and profile["samples_collected"] >= 4
    # Nothing lost: samples flushed before the outage plus those spooled are all stored.
    assert len(stored) >= profile["samples_collected"], (len(stored), profile)
    assert len(stored) >= len(payload["samples"]) >= 1


def test_postgres_down_when_a_job_is_claimed_retries_until_it_is_back(
    private_redis: PrivateRedis, private_pg: tuple[PrivatePostgres, str], tmp_path: Path
) -> None:
    from jobprobe.tasks import submission
    from jobprobe.worker.app import RUN_SIMULATION, create_app
    from jobprobe.worker.settings import load_settings

    pg, db_url = private_pg
    data_dir = tmp_path / "data"
    env = workers.jobprobe_env(private_redis.url, db_url, data_dir)
    settings = load_settings(
        broker_url=private_redis.url, database_url=db_url, data_dir=data_dir,
        queue_cpu=env["JOBPROBE_QUEUE_CPU"],
    )  # fmt: skip
    script = tmp_path / "quick.sh"
    script.write_text("echo claimed\n")
    job_id = submission.create("bash", script, settings=settings)  # stored while the DB is up
    pg.stop()
    app = create_app(settings)
    app.send_task(RUN_SIMULATION, args=[job_id], queue=settings.queue_cpu)
    worker = workers.WorkerProcess(env, name="wclaim", queues="cpu")
    with started(worker):
        wait_for(
            lambda: "Retry in" in worker.log(),
            30,
            "the claim to be retried",
            context=worker.log,
        )
        pg.start()
        with open_store(db_url) as store:
            done = wait_for(
                lambda: ended(store, job_id),
                90,
                "the job after the DB returned",
                context=worker.log,
            )
    assert done.status == "success"


def test_postgres_down_when_a_job_is_analysed_retries_until_it_is_back(
    private_redis: PrivateRedis,
    private_pg: tuple[PrivatePostgres, str],
    tmp_path: Path,
    job_script: Path,
) -> None:
    pg, db_url = private_pg
    env = workers.jobprobe_env(private_redis.url, db_url, tmp_path / "data")
    runner = workers.WorkerProcess(env, name="wrun", queues="cpu")
    with started(runner), open_store(db_url) as store:
        job_id = submit(env, job_script, tmp_path / "pids", seconds=0.3)
        done = wait_for(lambda: ended(store, job_id), 60, "the job", context=runner.log)
    assert done.status == "success"
    pg.stop()  # the job's analysis is queued; no worker has taken it yet
    analyst = workers.WorkerProcess(env, name="wanalysis", queues="analysis")
    with started(analyst):
        wait_for(
            lambda: "Retry in" in analyst.log(), 30, "the analysis to be retried",
            context=analyst.log,
        )  # fmt: skip
        pg.start()
        with open_store(db_url) as store:
            reports = wait_for(
                lambda: job_reports(store, job_id), 90, "the report after the DB returned",
                context=analyst.log,
            )  # fmt: skip
    assert len(reports) == 1 and reports[0]["body"]["status"] == "success", reports
