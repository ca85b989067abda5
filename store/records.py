"""The records users read: a job's (the Keystone profile field names, plus jobprobe's own) and a
sweep's.

Standard library only at import: the read commands build records from plain rows
(``store.job_reads``) without SQLAlchemy; ORM objects work too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobprobe.store.job_reads import RECORD_COLUMNS
from jobprobe.store.status import JobSource

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jobprobe.store.models import Job, Sweep


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def columns(job: Job) -> dict[str, Any]:
    """An ORM job's values of ``RECORD_COLUMNS`` (what ``to_record`` reads)."""
    return {name: getattr(job, name) for name in RECORD_COLUMNS}


def to_record(
    job: Mapping[str, Any] | Job,
    *,
    events: Sequence[Mapping[str, Any]] | None = None,
    timeseries: dict[str, list[Any]] | None = None,
    reports: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The JSON record of a job (``--json`` output and the Python API), from its row
    (``store.job_reads``) or its ORM object; ``events`` as ``job_reads.status_history``."""
    row = job if isinstance(job, Mapping) else columns(job)
    profile = dict(row["detailed_profile"]) if row["detailed_profile"] else None
    if profile is not None and timeseries is not None:
        profile["timeseries"] = timeseries
    record: dict[str, Any] = {
        "task_id": row["id"],
        "tool": row["tool"],
        "script": row["script_name"],
        "params": row["params"],
        "labels": row["labels"],
        "source": str(row["source"]),
        "external_id": row["external_id"],
        "queue": row["queue"],
        "worker": row["worker"],
        "gpus": row["gpus"],
        "timeout_seconds": row["timeout_s"],
        "status": str(row["status"]),
        "returncode": row["returncode"],
        "error": row["error"],
        "submitted_at": _iso(row["submitted_at"]),
        "start_time": _iso(row["started_at"]),
        "end_time": _iso(row["ended_at"]),
        "duration_seconds": row["duration_s"],
        "queue_wait_seconds": row["queue_wait_s"],
        "attempts": row["attempts"],
        "resource_usage": {
            "cpu_user_seconds": row["cpu_user_s"],
            "cpu_system_seconds": row["cpu_system_s"],
            "cpu_total_seconds": row["cpu_total_s"],
            "memory_peak_mb": row["memory_peak_mb"],
        },
        "detailed_profile": profile,
        "metrics": row["metrics"] or {},
        "host": row["host"],
        "logs": {
            "stdout_path": row["stdout_path"],
            "stderr_path": row["stderr_path"],
            "stdout_tail": row["stdout_tail"],
            "stderr_tail": row["stderr_tail"],
        },
        "workdir": row["workdir"],
        "artifacts": row["artifacts"] or [],
        "sweep_id": row["sweep_id"],
    }
    _add_containment(record, row)
    if row["source"] != JobSource.LOCAL:
        record["raw"] = row["raw"]
    if events is not None:
        record["status_history"] = [
            {"status": e["status"], "at": _iso(e["at"]), "detail": e["detail"]} for e in events
        ]
    if reports is not None:
        record["reports"] = list(reports)
    return record


def _add_containment(record: dict[str, Any], row: Mapping[str, Any]) -> None:
    """``accounting``, ``isolation``, ``leaked_processes``, ``limits`` (asked, applied or why
    not) and ``group_usage`` (the job group's own counters)."""
    done = row["containment"] or {}
    limits = dict(done.get("limits") or {})
    mem = row["mem_limit_bytes"]
    limits.update(
        mem_bytes=mem, mem_mb=None if mem is None else round(mem / 2**20, 3),
        cpus=row["cpu_limit"], max_procs=row["max_procs"],
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
    samples as columns when asked (read on the session's connection)."""
    from jobprobe.store import job_reads, reading, sample_reads

    reader = reading.from_session(session)
    row = job_reads.get_job(reader, job_id)
    return to_record(
        row,
        events=job_reads.status_history(reader, row["id"]) if events else None,
        timeseries=sample_reads.load_timeseries(reader, row["id"]) if timeseries else None,
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
