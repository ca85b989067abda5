"""Runs a stored job under a JobMonitor and records everything it produces in the store.

Samples are written while the job runs; the final record goes to the store or, when the
database is down, to the local spool, from which ``replay_spool`` writes it later.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jobprobe.monitor import cgroups, job_uids, workdirs
from jobprobe.monitor.job_monitor import JobMonitor, JobSpec
from jobprobe.monitor.limits import Limits
from jobprobe.monitor.tools import Tool, get_tool, load_registry
from jobprobe.store import attempts, storable
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
    lease_seconds: float = attempts.DEFAULT_LEASE_SECONDS,
    job_user: str | None = None,
    own_uids: job_uids.UidRange | None = None,
) -> dict[str, Any]:
    """Run job ``job_id`` (one delivery) and record it; returns a small summary.

    The claim gives this attempt a lease of ``lease_seconds``, renewed while the job runs
    (``AttemptLease``). An attempt found superseded kills its job and writes nothing more:
    the summary's status is then ``superseded``.

    A job stored without a timeout gets ``default_timeout`` seconds (``Settings.default_timeout``).
    Its processes run in a control group of its own beneath ``cgroup_parent``
    (``Settings.cgroup_parent``; default: a ``jobprobe`` group beneath the worker's own).
    Process jobs run as ``job_user`` (``Settings.job_user``; None: the worker's own user), each
    under a uid of its own from ``own_uids`` (``Settings.job_uids``) when given.
    Outcomes spooled earlier are written first; ``on_replayed(job_id)`` is called for each of
    those jobs that ran. In the summary, ``recorded`` is False when this outcome was spooled,
    and ``unreported`` is True when the store holds the job's run but no report of it yet.
    """
    replay_spool(store, spool, on_replayed=on_replayed)
    with store.transaction() as conn:
        claim = attempts.begin_attempt(
            conn, job_id, worker=worker, max_attempts=max_attempts, lease_seconds=lease_seconds
        )
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
        return _fail_before_start(store, spool, job_id, f"{exc}", attempt)
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

    lease = AttemptLease(store, job_id, attempt, lease_seconds=lease_seconds)
    monitor = JobMonitor(
        enable_profiling=claim.profile_enabled, sample_interval=sample_interval,
        kill_grace=kill_grace, flush_seconds=flush_seconds, docker_base_url=docker_base_url,
        write_samples=lease.write_samples, should_cancel=lease.should_cancel,
        cgroups=cgroups.Cgroups(cgroup_parent), job_user=job_user, private_root=data_dir,
        own_uids=own_uids,
    )  # fmt: skip
    workdir = workdirs.attempt_dir(data_dir, job_id, attempt)
    try:
        outcome = monitor.run(spec, workdir)
    except (
        Exception
    ) as exc:  # launch failures (bad template, no engine) end the job, with the reason
        reason = workdirs.failure_reason(exc, data_dir)  # a full data directory says so
        log.warning("job %s could not start: %s", job_id, reason)
        return _fail_before_start(store, spool, job_id, reason, attempt)
    if lease.superseded:  # its job was killed (the monitor's cancel path); nothing is written
        return {"job_id": job_id, "status": "superseded", "ran": True, "recorded": False,
                "unreported": False, "attempt": attempt}  # fmt: skip
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


class AttemptLease:
    """The worker's side of one attempt's lease.

    The lease is renewed with every sample flush (``write_samples``) and, when none came for a
    third of the lease (profiling off, or a store that was slow), by the monitor's cancel check
    (``should_cancel``, about once a second), which otherwise only reads whether a cancel was
    asked. A renewal that matches no row means the attempt was superseded: from then on
    ``should_cancel`` says True (the monitor kills the job) and nothing more is written. A
    store that cannot be reached changes nothing here (the job keeps running; samples wait).
    """

    def __init__(self, store: Store, job_id: str, attempt: int, *, lease_seconds: float) -> None:
        self.store = store
        self.job_id = job_id
        self.attempt = attempt
        self.lease_seconds = lease_seconds
        self.superseded = False
        self._renewed_at = time.monotonic()
        self._lock = threading.Lock()  # the flush thread and the monitor's loop both renew

    def _settle(self, cancel: bool | None, asked_at: float) -> bool:
        if cancel is None:
            if not self.superseded:
                log.warning(
                    "job %s: attempt %d was superseded (its lease expired and the job was taken "
                    "again, or it was ended); stopping it, writing nothing", self.job_id,
                    self.attempt,
                )  # fmt: skip
            self.superseded = True
            return True
        with self._lock:
            self._renewed_at = max(self._renewed_at, asked_at)
        return cancel

    def write_samples(self, batch: list[dict[str, Any]]) -> None:
        """Renew the lease and write ``batch`` (dropped when the attempt was superseded)."""
        if self.superseded:
            return
        asked_at = time.monotonic()
        cancel = store_samples.write_fenced(
            self.store, self.job_id, self.attempt, batch, lease_seconds=self.lease_seconds
        )
        self._settle(cancel, asked_at)

    def should_cancel(self) -> bool:
        """Whether the job must stop: a cancel was asked, or this attempt was superseded."""
        if self.superseded:
            return True
        asked_at = time.monotonic()
        with self._lock:
            due = asked_at - self._renewed_at >= self.lease_seconds / 3
        if due:
            with self.store.transaction() as conn:
                cancel = attempts.renew_lease(
                    conn, self.job_id, self.attempt, lease_seconds=self.lease_seconds
                )
            return self._settle(cancel, asked_at)
        with self.store.session() as session:
            return store_jobs.cancel_requested(session, self.job_id)


def _fail_before_start(
    store: Store, spool: Spool, job_id: str, reason: str, attempt: int
) -> dict[str, Any]:
    failed = JobStatus.FAILED
    payload = {"status": failed, "error": reason, "status_detail": "could not start"}
    recorded = record(store, spool, job_id, payload, attempt=attempt, samples=[], ran=False)
    return {
        "job_id": job_id, "status": failed, "ran": False, "recorded": recorded,
        "unreported": False, "error": reason,
    }  # fmt: skip


def write_payload(store: Store, job_id: str, payload: dict[str, Any]) -> None:
    """Write one outcome and the samples it carries, in one transaction (fresh or spooled).

    Fenced by the payload's attempt: when that attempt is no longer the job's current running
    one, nothing is written (an attempt of 0 or none, spooled by an older version: unfenced).
    """
    samples = payload.get("samples") or []
    outcome = payload.get("outcome", payload)
    attempt = int(payload.get("attempt") or 0) or None
    with store.transaction() as conn:
        written = attempts.finish_job(conn, job_id, outcome, attempt=attempt)
        if written and samples:
            store_samples.add_samples(conn, job_id, attempt or 1, samples)
    if not written:
        log.warning("job %s: the outcome of attempt %s was not written: that attempt was "
                    "superseded or the job ended without it", job_id, attempt)  # fmt: skip


def record(
    store: Store, spool: Spool, job_id: str, outcome: dict[str, Any], *, attempt: int,
    samples: list[dict[str, Any]], ran: bool = True,
) -> bool:  # fmt: skip
    """Write the outcome now (True), or spool it when the database is unavailable (False).

    ``ran`` (kept with a spooled outcome) says whether the job ran, so that its replay can
    queue what follows a run.
    """
    payload = {"outcome": outcome, "attempt": attempt, "samples": samples, "ran": ran}
    try:  # made storable; an outcome the store refuses for good fails the job with the reason
        storable.write_or_fail(lambda p: write_payload(store, job_id, p), job_id, payload)
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


__all__ = ["AttemptLease", "Tool", "record", "replay_spool", "run_recorded", "write_payload"]
