"""Exactly once when a worker dies or freezes mid-job: its lease expires, reconciliation
publishes the job again, and another attempt runs it; a frozen attempt that wakes up finds
itself superseded, kills its job and writes nothing. ``cancel`` ends a job whose worker is gone.

Every process a test starts is stopped by its PID.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from jobprobe.store import job_reads, sample_reads
from jobprobe.store import jobs as store_jobs
from tests import workers
from tests.integration.exactly_once_support import (
    all_ended,
    burst,
    create,
    fast_env,
    lease_expired,
    runs,
    settings_of,
)
from tests.integration.fault_support import (
    JobView,
    PrivateRedis,
    ended,
    open_store,
    process_gone,
    running_with_samples,
    started,
    view,
)
from tests.polling import wait_for

pytestmark = pytest.mark.integration


def _submit(env: dict[str, str], script: Path, pidfile: Path, seconds: float) -> str:
    from jobprobe.tasks import submission

    settings = settings_of(env)
    job_id = create(settings, script, pidfile, seconds)
    submission.enqueue(job_id, settings=settings)
    return job_id


def _attempt(store: object, job_id: str, n: int) -> JobView | None:
    v = view(store, job_id)  # type: ignore[arg-type]
    return v if v.attempts >= n and v.status == "running" else None


def test_a_worker_killed_mid_job_has_its_job_run_again_within_two_minutes(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    env = fast_env(private_redis.url, pg_url, tmp_path / "data")
    a = workers.WorkerProcess(env, name="wka", queues="cpu")
    b = workers.WorkerProcess(env, name="wkb", queues="cpu")
    pidfile = tmp_path / "pids"
    with started(a, b), open_store(pg_url) as store:
        job_id = _submit(env, job_script, pidfile, seconds=4.0)
        first = wait_for(lambda: running_with_samples(store, job_id), 30, "the job running")
        assert first.worker is not None
        victim, survivor = (a, b) if first.worker.startswith("wka@") else (b, a)
        victim.kill(signal.SIGKILL)
        killed_at = time.monotonic()
        orphan = wait_for(lambda: runs(pidfile), 5, "the job's pid")[0]
        wait_for(lambda: process_gone(orphan), 10, f"the orphaned job process {orphan} to die")
        wait_for(lambda: _attempt(store, job_id, 2), 120, "the job running again",
                 context=survivor.log)  # fmt: skip
        rerun_s = time.monotonic() - killed_at
        done = wait_for(lambda: ended(store, job_id), 60, "the end", context=survivor.log)
    print(
        f"worker SIGKILLed mid-job: run again after {rerun_s:.1f} s, ended {done.status}, "
        f"runs {len(runs(pidfile))} (the killed one and the rerun)"
    )
    assert done.status == "success", done
    assert done.history == ["queued", "running", "running", "success"]
    assert done.worker is not None and done.worker.startswith(survivor.name + "@")
    assert len(runs(pidfile)) == 2  # killed once, then run to its end once
    assert rerun_s < 120


def test_cancel_of_a_job_whose_worker_is_gone_ends_it_at_once(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    env = fast_env(private_redis.url, pg_url, tmp_path / "data")
    pidfiles = [tmp_path / "pids-expired", tmp_path / "pids-alive"]
    with open_store(pg_url) as store:
        only = workers.WorkerProcess(env, name="wgone", queues="cpu", concurrency=2)
        with started(only):
            job_ids = [_submit(env, job_script, p, seconds=60.0) for p in pidfiles]
            wait_for(
                lambda: all(running_with_samples(store, j) for j in job_ids), 30, "both running"
            )
            only.kill(signal.SIGKILL)
        expired, alive = job_ids
        # Its lease expired: cancel ends it at once.
        wait_for(lambda: lease_expired(store, expired), 30, "the dead worker's lease to expire")
        t0 = time.monotonic()
        out = workers.run_cli(["cancel", expired, "--json"], env, timeout=60)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["status"] == "cancelled"
        print(f"cancel of a job whose worker is gone: {time.monotonic() - t0:.1f} s (CLI)")
        # Its lease may still be alive (as just after the kill): it ends once the lease has
        # expired, by the next sweep of a worker (beat is not running here).
        with store.session() as session:
            store_jobs.request_cancel(session, alive)
        sweeper = workers.WorkerProcess(env, name="wsweep", queues="gpu")
        with started(sweeper):
            done = wait_for(lambda: ended(store, alive), 30, "the second job cancelled",
                            context=sweeper.log)  # fmt: skip
        first = view(store, expired)
    assert first.status == "cancelled" and first.history == ["queued", "running", "cancelled"]
    assert done.status == "cancelled" and done.history == ["queued", "running", "cancelled"]
    assert [len(runs(p)) for p in pidfiles] == [1, 1]


def test_a_frozen_worker_resumed_after_its_lease_writes_nothing_and_kills_its_job(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    env = fast_env(private_redis.url, pg_url, tmp_path / "data")
    a = workers.WorkerProcess(env, name="wfa", queues="cpu")
    b = workers.WorkerProcess(env, name="wfb", queues="cpu")
    pidfile = tmp_path / "pids"
    with started(a, b), open_store(pg_url) as store:
        job_id = _submit(env, job_script, pidfile, seconds=25.0)
        first = wait_for(lambda: running_with_samples(store, job_id), 30, "the job running")
        assert first.worker is not None
        frozen, other = (a, b) if first.worker.startswith("wfa@") else (b, a)
        frozen.kill(signal.SIGSTOP)
        try:
            with store.reader() as reader:
                samples_frozen = sample_reads.load_timeseries(reader, job_id)["attempt"].count(1)
            wait_for(lambda: _attempt(store, job_id, 2), 60, "the job taken by the other worker",
                     context=other.log)  # fmt: skip
            wait_for(lambda: len(runs(pidfile)) == 2, 30, "the second run to start")
        finally:
            frozen.kill(signal.SIGCONT)
        resumed = time.monotonic()
        first_pid = runs(pidfile)[0]
        wait_for(lambda: process_gone(first_pid), 20, "the frozen attempt to kill its job",
                 context=frozen.log)  # fmt: skip
        killed_s = time.monotonic() - resumed
        wait_for(lambda: "superseded" in frozen.log(), 10, "the frozen worker's warning",
                 context=frozen.log)  # fmt: skip
        done = wait_for(lambda: ended(store, job_id), 60, "the end", context=other.log)
    print(f"frozen attempt killed its job {killed_s:.1f} s after SIGCONT")
    assert done.status == "success", done
    assert done.history == ["queued", "running", "running", "success"]  # one outcome
    assert done.worker is not None and done.worker.startswith(other.name + "@")
    assert done.attempts == 2 and len(runs(pidfile)) == 2
    # Nothing of attempt 1 was written after it was frozen (samples already queued when the
    # freeze came may have been written with it, before the lease expired).
    assert done.sample_attempts.count(1) <= samples_frozen + 1
    assert done.sample_attempts.count(2) >= 1


def test_a_burst_with_one_worker_killed_and_one_frozen_ends_every_job_once(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    from jobprobe.tasks import submission

    env = fast_env(private_redis.url, pg_url, tmp_path / "data")
    settings = settings_of(env)
    procs = [workers.WorkerProcess(env, name=f"wb{i}", queues="cpu") for i in range(3)]
    jobs: dict[str, Path] = {}
    with started(*procs), open_store(pg_url) as store:
        for i in range(30):
            pidfile = tmp_path / f"pids-{i}"
            job_id = create(settings, job_script, pidfile, seconds=1.5)
            submission.enqueue(job_id, settings=settings)
            jobs[job_id] = pidfile

        def running_on() -> dict[str, str] | None:
            with store.reader() as reader:
                found = {(j["worker"] or "").split("@")[0]: j["id"]
                         for j in job_reads.job_history(reader, status="running", limit=50)}  # fmt: skip
            return found if {"wb0", "wb1"} <= set(found) else None

        victims = wait_for(running_on, 60, "jobs running on wb0 and wb1")
        killed, frozen = victims["wb0"], victims["wb1"]
        procs[0].kill(signal.SIGKILL)
        procs[1].kill(signal.SIGSTOP)
        t0 = time.monotonic()
        try:
            wait_for(lambda: view(store, frozen).attempts >= 2, 60, "the frozen worker's job taken")
        finally:
            procs[1].kill(signal.SIGCONT)
        wait_for(lambda: all_ended(store, list(jobs)), 180, "every job to end", poll=0.5,
                 context=lambda: procs[2].log()[-3000:])  # fmt: skip
        ended_s = time.monotonic() - t0
        figures = burst(store, jobs)
        twice = {j for j, p in jobs.items() if len(runs(p)) > 1}
    print(figures.line("3 workers, one SIGKILLed, one frozen past its lease",
                       ended_s=f"{ended_s:.1f}", ran_twice=len(twice)))  # fmt: skip
    assert figures.by_status == {"success": 30}, figures
    assert figures.success_events == {1: 30}, figures  # one outcome each
    assert twice <= {killed, frozen}, twice  # only the interrupted attempts ran again
    assert max(figures.runs) <= 2, figures
