"""Runs a stored job under a JobMonitor and records everything it produces in the store.

Samples are written while the job runs; the final record goes to the store or, when the
database is down, to the local spool, from which ``replay_spool`` writes it later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jobprobe.monitor import cgroups, workdirs
from jobprobe.monitor.job_monitor import JobMonitor, JobSpec
from jobprobe.monitor.limits import Limits
from jobprobe.monitor.tools import Tool, get_tool, load_registry
from jobprobe.store import attempts
from jobprobe.store import errors as store_errors
from jobprobe.store import jobs as store_jobs
from jobprobe.store import reports as store_reports
from jobprobe.store import samples as store_samples
from jobprobe.store.db import Store
from jobprobe.store.spool import Spool
from jobprobe.store.status import TERMINAL, JobStatus

log = logging.getLogger(__name__)


def run_recorded(
    store: Store,
    spool: Spool,
    job_id: str,
    *,
    worker: str,
    data_dir: Path,
    tools_file: Path | None,
    max_attempts: int,
    sample_interval: float,
    flush_seconds: float,
    kill_grace: float,
    default_timeout: float,
    docker_base_url: str | None = None,
    on_replayed: Callable[[str], object] | None = None,
    cgroup_parent: str | None = None,
) -> dict[str, Any]:
    """Run job ``job_id`` (one delivery) and record it; returns a small summary.

    A job stored without a timeout gets ``default_timeout`` seconds (``Settings.default_timeout``).
    Its processes run in a control group of its own beneath ``cgroup_parent``
    (``Settings.cgroup_parent``; default: a ``jobprobe`` group beneath the worker's own).
    Outcomes spooled earlier are written first; ``on_replayed(job_id)`` is called for each of
    those jobs that ran. In the summary, ``recorded`` is False when this outcome was spooled,
    and ``unreported`` is True when the store holds the job's run but no report of it yet.
    """
    replay_spool(store, spool, on_replayed=on_replayed)
    with store.transaction() as conn:
        claim = attempts.begin_attempt(conn, job_id, worker=worker, max_attempts=max_attempts)
    if claim is None:
        with store.session() as session:
            current = store_jobs.get_job(session, job_id)
            # A delivery of a job that already ran to its end: its worker was lost after the
            # outcome's commit, perhaps before the analysis was queued.
            unreported = (
                current.status in TERMINAL
                and current.duration_s is not None  # ended by a run (not lost, not never started)
                and store_reports.job_report(session, current.id) is None
            )
            return {
                "job_id": job_id, "status": current.status, "ran": False, "unreported": unreported,
            }  # fmt: skip
    job_id, attempt = claim.job_id, claim.attempt
    try:
        tool = get_tool(load_registry(tools_file), claim.tool)
    except Exception as exc:  # registry differs on this worker: the job fails with the reason
        return _fail_before_start(store, spool, job_id, f"{exc}")
    spec = JobSpec(
        job_id=job_id,
        tool=tool,
        script_name=claim.script_name or "script",
        script_content=claim.script_content,
        params=claim.params,
        timeout_s=default_timeout if claim.timeout_s is None else claim.timeout_s,
        gpus=claim.gpus,
        attempt=attempt,
        limits=Limits(
            mem_bytes=claim.mem_limit_bytes, cpus=claim.cpu_limit, max_procs=claim.max_procs
        ),
    )

    def write(batch: list[dict[str, Any]]) -> None:
        store_samples.write_samples(store, job_id, attempt, batch)

    def should_cancel() -> bool:
        with store.session() as session:
            return store_jobs.cancel_requested(session, job_id)

    monitor = JobMonitor(
        enable_profiling=claim.profile_enabled, sample_interval=sample_interval,
        kill_grace=kill_grace, flush_seconds=flush_seconds, docker_base_url=docker_base_url,
        write_samples=write, should_cancel=should_cancel, cgroups=cgroups.Cgroups(cgroup_parent),
    )  # fmt: skip
    workdir = workdirs.attempt_dir(data_dir, job_id, attempt)
    try:
        outcome = monitor.run(spec, workdir)
    except (
        Exception
    ) as exc:  # launch failures (bad template, no engine) end the job, with the reason
        log.warning("job %s could not start: %s", job_id, exc)
        return _fail_before_start(store, spool, job_id, str(exc))
    payload = outcome.for_store()
    recorded = record(
        store, spool, job_id, payload, attempt=attempt, samples=outcome.unwritten_samples
    )
    return {
        "job_id": job_id,
        "status": outcome.status,
        "ran": True,
        "recorded": recorded,
        "unreported": recorded,
        "returncode": outcome.returncode,
    }


def _fail_before_start(store: Store, spool: Spool, job_id: str, reason: str) -> dict[str, Any]:
    failed = JobStatus.FAILED
    payload = {"status": failed, "error": reason, "status_detail": "could not start"}
    recorded = record(store, spool, job_id, payload, attempt=0, samples=[], ran=False)
    return {
        "job_id": job_id, "status": failed, "ran": False, "recorded": recorded,
        "unreported": False, "error": reason,
    }  # fmt: skip


def write_payload(store: Store, job_id: str, payload: dict[str, Any]) -> None:
    """Write one outcome and the samples it carries, in one transaction (fresh or spooled)."""
    samples = payload.get("samples") or []
    outcome = payload.get("outcome", payload)
    with store.transaction() as conn:
        if samples:
            store_samples.add_samples(conn, job_id, int(payload.get("attempt") or 1), samples)
        attempts.finish_job(conn, job_id, outcome)


def record(
    store: Store, spool: Spool, job_id: str, outcome: dict[str, Any], *, attempt: int,
    samples: list[dict[str, Any]], ran: bool = True,
) -> bool:  # fmt: skip
    """Write the outcome now (True), or spool it when the database is unavailable (False).

    ``ran`` (kept with a spooled outcome) says whether the job ran, so that its replay can
    queue what follows a run.
    """
    payload = {"outcome": outcome, "attempt": attempt, "samples": samples, "ran": ran}
    try:
        write_payload(store, job_id, payload)
    except store_errors.StoreUnavailable as exc:
        path = spool.put(job_id, payload)
        log.warning("database unavailable (%s); job %s outcome spooled at %s", exc, job_id, path)
        return False
    return True


def replay_spool(
    store: Store, spool: Spool, *, on_replayed: Callable[[str], object] | None = None
) -> int:
    """Write spooled outcomes to the store while it answers; returns how many were written.

    ``on_replayed(job_id)`` follows each written outcome of a job that ran.
    """
    if not spool.pending():
        return 0

    def write(job_id: str, payload: dict[str, Any]) -> None:
        write_payload(store, job_id, payload)
        if on_replayed is not None and payload.get("ran"):
            on_replayed(job_id)

    return spool.replay(write)


__all__ = ["Tool", "record", "replay_spool", "run_recorded", "write_payload"]
