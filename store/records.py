"""The records users read: a job's (the Keystone profile field names, plus jobprobe's own) and a
sweep's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from jobprobe.store import jobs as store_jobs
from jobprobe.store import samples as store_samples
from jobprobe.store.models import Job, StatusEvent, Sweep
from jobprobe.store.status import JobSource


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def to_record(
    job: Job,
    *,
    events: Sequence[StatusEvent] | None = None,
    timeseries: dict[str, list[Any]] | None = None,
    reports: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The JSON record of a job (``--json`` output and the Python API)."""
    profile = dict(job.detailed_profile) if job.detailed_profile else None
    if profile is not None and timeseries is not None:
        profile["timeseries"] = timeseries
    record: dict[str, Any] = {
        "task_id": job.id,
        "tool": job.tool,
        "script": job.script_name,
        "params": job.params,
        "labels": job.labels,
        "source": job.source,
        "external_id": job.external_id,
        "queue": job.queue,
        "worker": job.worker,
        "gpus": job.gpus,
        "timeout_seconds": job.timeout_s,
        "status": job.status,
        "returncode": job.returncode,
        "error": job.error,
        "submitted_at": _iso(job.submitted_at),
        "start_time": _iso(job.started_at),
        "end_time": _iso(job.ended_at),
        "duration_seconds": job.duration_s,
        "queue_wait_seconds": job.queue_wait_s,
        "attempts": job.attempts,
        "resource_usage": {
            "cpu_user_seconds": job.cpu_user_s,
            "cpu_system_seconds": job.cpu_system_s,
            "cpu_total_seconds": job.cpu_total_s,
            "memory_peak_mb": job.memory_peak_mb,
        },
        "detailed_profile": profile,
        "metrics": job.metrics or {},
        "host": job.host,
        "logs": {
            "stdout_path": job.stdout_path,
            "stderr_path": job.stderr_path,
            "stdout_tail": job.stdout_tail,
            "stderr_tail": job.stderr_tail,
        },
        "workdir": job.workdir,
        "artifacts": job.artifacts or [],
        "sweep_id": job.sweep_id,
    }
    _add_containment(record, job)
    if job.source != JobSource.LOCAL:
        record["raw"] = job.raw
    if events is not None:
        record["status_history"] = [
            {"status": e.status, "at": _iso(e.at), "detail": e.detail} for e in events
        ]
    if reports is not None:
        record["reports"] = list(reports)
    return record


def _add_containment(record: dict[str, Any], job: Job) -> None:
    """``accounting``, ``isolation``, ``leaked_processes``, ``limits`` (asked, applied or why
    not) and ``group_usage`` (the job group's own counters)."""
    done = job.containment or {}
    limits = dict(done.get("limits") or {})
    mem = job.mem_limit_bytes
    limits.update(
        mem_bytes=mem, mem_mb=None if mem is None else round(mem / 2**20, 3),
        cpus=job.cpu_limit, max_procs=job.max_procs,
    )  # fmt: skip
    limits.setdefault("applied", None)
    limits.setdefault("reason", None)
    record["limits"] = limits
    record["limits_applied"] = limits["applied"]
    record["accounting"] = done.get("accounting")
    record["leaked_processes"] = done.get("leaked_processes")
    record["leaked_killed"] = done.get("leaked_killed")
    record["oom_kills"] = done.get("oom_kills")
    # Who the job ran as: {user, uid, separate (from the worker's user), reason when not}.
    record["isolation"] = done.get("isolation")
    # The group's own figures beyond the Keystone four: memory current/anon/cache/shmem, I/O
    # bytes and operations, tasks (null without a group, or where a counter is missing).
    record["group_usage"] = done.get("group_usage")


def load_record(
    session: Session, job_id: str, *, events: bool = False, timeseries: bool = False
) -> dict[str, Any]:
    """The record of the job with this id or unique prefix, with its status history and its
    samples as columns when asked."""
    job = store_jobs.get_job(session, job_id)
    return to_record(
        job,
        events=store_jobs.status_history(session, job.id) if events else None,
        timeseries=store_samples.load_timeseries(session, job.id) if timeseries else None,
    )


def sweep_record(sweep: Sweep) -> dict[str, Any]:
    """What a sweep is: its id, tool, script, the parameter it varies and over which values,
    repeats, status and latency SLO."""
    return {
        "sweep_id": sweep.id,
        "tool": sweep.tool,
        "script": sweep.script_name,
        "vary": sweep.vary_name,
        "values": sweep.vary_values,
        "repeat": sweep.repeat,
        "sweep_status": sweep.status,
        "slo_p99_ms": sweep.slo_p99_ms,
    }
