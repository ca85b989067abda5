"""Exactly once across a PostgreSQL outage longer than the lease: every lease expires while the
database is down, yet a job that keeps running is not taken from its worker, and a job whose
outcome waits in its worker's spool is recorded, not run again.

Every process a test starts is stopped by its PID or data directory.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobprobe.store import jobs as store_jobs
from tests import workers
from tests.integration.exactly_once_support import create, fast_env, runs, settings_of
from tests.integration.fault_support import (
    PrivatePostgres,
    PrivateRedis,
    ended,
    open_store,
    running_with_samples,
    started,
)
from tests.polling import wait_for

pytestmark = pytest.mark.integration


def _two_workers(env: dict[str, str], tmp_path: Path) -> tuple[workers.WorkerProcess, ...]:
    """Two workers on one queue, each with its own data directory (and spool)."""
    env_b = dict(env, JOBPROBE_DATA_DIR=str(tmp_path / "data-b"))
    return (
        workers.WorkerProcess(env, name="wpa", queues="cpu"),
        workers.WorkerProcess(env_b, name="wpb", queues="cpu"),
    )


def _outage_past_the_lease(pg: PrivatePostgres, store: object, job_id: str) -> None:
    """Stop PostgreSQL until the job's lease, read just before, has expired by a second."""
    with store.session() as session:  # type: ignore[attr-defined]
        lease = store_jobs.get_job(session, job_id).lease_expires_at
    assert lease is not None
    store.dispose()  # type: ignore[attr-defined]
    pg.stop()
    wait_for(lambda: (datetime.now(UTC) - lease).total_seconds() > 1.0, 30, "the lease to expire")


def _submit(env: dict[str, str], script: Path, pidfile: Path, seconds: float) -> str:
    from jobprobe.tasks import submission

    settings = settings_of(env)
    job_id = create(settings, script, pidfile, seconds)
    submission.enqueue(job_id, settings=settings)
    return job_id


def test_a_job_running_through_an_outage_longer_than_its_lease_runs_once(
    private_redis: PrivateRedis,
    private_pg: tuple[PrivatePostgres, str],
    tmp_path: Path,
    job_script: Path,
) -> None:
    pg, db_url = private_pg
    env = fast_env(private_redis.url, db_url, tmp_path / "data")
    pidfile = tmp_path / "pids"
    a, b = _two_workers(env, tmp_path)
    with started(a, b), open_store(db_url) as store:
        job_id = _submit(env, job_script, pidfile, seconds=12.0)
        wait_for(lambda: running_with_samples(store, job_id), 30, "the job running")
        _outage_past_the_lease(pg, store, job_id)
        pg.start()
        back = time.monotonic()
        done = wait_for(lambda: ended(store, job_id), 60, "the end",
                        context=lambda: a.log()[-2000:] + b.log()[-2000:])  # fmt: skip
    print(f"job running through an outage past its lease: ended {time.monotonic() - back:.1f} s "
          f"after PostgreSQL returned, runs {len(runs(pidfile))}")  # fmt: skip
    assert done.status == "success" and done.attempts == 1, done
    assert done.history == ["queued", "running", "success"]
    assert len(runs(pidfile)) == 1


def test_a_spooled_outcome_is_recorded_not_run_again_after_an_outage_past_the_lease(
    private_redis: PrivateRedis,
    private_pg: tuple[PrivatePostgres, str],
    tmp_path: Path,
    job_script: Path,
) -> None:
    pg, db_url = private_pg
    env = fast_env(private_redis.url, db_url, tmp_path / "data")
    pidfile = tmp_path / "pids"
    a, b = _two_workers(env, tmp_path)
    with started(a, b), open_store(db_url) as store:
        job_id = _submit(env, job_script, pidfile, seconds=2.5)
        first = wait_for(lambda: running_with_samples(store, job_id), 30, "the job running")
        assert first.worker is not None
        runner = a if first.worker.startswith("wpa@") else b
        spool = Path(runner.env["JOBPROBE_DATA_DIR"]) / "spool" / f"{job_id}.json"
        _outage_past_the_lease(pg, store, job_id)
        wait_for(spool.is_file, 30, f"the outcome spooled at {spool}", context=runner.log)
        pg.start()
        back = time.monotonic()
        done = wait_for(lambda: ended(store, job_id), 60, "the spooled outcome recorded",
                        context=runner.log)  # fmt: skip
        recorded_s = time.monotonic() - back
    print(f"spooled outcome recorded {recorded_s:.1f} s after PostgreSQL returned")
    assert done.status == "success" and done.attempts == 1, done
    assert done.history == ["queued", "running", "success"]
    assert len(runs(pidfile)) == 1
