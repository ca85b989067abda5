"""Job queries: create, look up, move through statuses, finish, list and aggregate."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobprobe.analysis import stats
from jobprobe.store import errors
from jobprobe.store.ids import MIN_ID_PREFIX
from jobprobe.store.models import Base, Job, JobLabel, StatusEvent
from jobprobe.store.status import FAILURES, FINISHED, TERMINAL, JobSource, JobStatus, success_rate

M = TypeVar("M", bound=Base)


def utcnow() -> datetime:
    """Timezone-aware now (UTC)."""
    return datetime.now(UTC)


def new_job_id() -> str:
    """A fresh job id (32 hex digits; any unique prefix of 6 or more works on the CLI)."""
    return uuid.uuid4().hex


def create_job(
    session: Session,
    *,
    tool: str,
    queue: str,
    script_name: str = "",
    script_content: str | None = None,
    params: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    gpus: int = 0,
    timeout_s: float | None = None,
    profile_enabled: bool = True,
    sweep_id: str | None = None,
    source: JobSource = JobSource.LOCAL,
    external_id: str | None = None,
    status: JobStatus = JobStatus.QUEUED,
    submitted_at: datetime | None = None,
    job_id: str | None = None,
    mem_limit_bytes: int | None = None,
    cpu_limit: float | None = None,
    max_procs: int | None = None,
) -> Job:
    """Insert a job (and its labels and first status event); returns it, flushed."""
    now = submitted_at or utcnow()
    job = Job(
        id=job_id or new_job_id(),
        source=source,
        external_id=external_id,
        tool=tool,
        script_name=script_name,
        script_content=script_content,
        script_sha256=hashlib.sha256(script_content.encode()).hexdigest()
        if script_content
        else None,
        params=dict(params or {}),
        labels=dict(labels or {}),
        queue=queue,
        gpus=gpus,
        timeout_s=timeout_s,
        profile_enabled=profile_enabled,
        cancel_requested=False,
        status=status,
        submitted_at=now,
        updated_at=now,
        attempts=0,
        sweep_id=sweep_id,
        mem_limit_bytes=mem_limit_bytes,
        cpu_limit=cpu_limit,
        max_procs=max_procs,
    )
    session.add(job)
    session.flush()
    session.add_all(JobLabel(job_id=job.id, key=k, value=str(v)) for k, v in (labels or {}).items())
    session.add(StatusEvent(job_id=job.id, status=status, at=now))
    session.flush()
    return job


def by_id_or_prefix(
    session: Session, model: type[M], ident: str, *, noun: str, hint: str, for_update: bool = False
) -> M:
    """The row of ``model`` whose id is ``ident`` or starts with it (6+ characters).

    ``for_update`` locks the row on PostgreSQL so concurrent writers of one row serialise.
    """
    column: Any = model.id  # type: ignore[attr-defined]
    stmt = sa.select(model).where(column == ident)
    if for_update and session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).first()
    if row is not None:
        return row
    if len(ident) < MIN_ID_PREFIX:
        raise errors.JobNotFound(
            f"{ident!r} is too short to find a {noun} by: give {MIN_ID_PREFIX} or more characters "
            "of its id; "
            f"{hint}"
        )
    ids = session.scalars(sa.select(column).where(column.startswith(ident)).limit(2)).all()
    if len(ids) == 1:
        return by_id_or_prefix(session, model, ids[0], noun=noun, hint=hint, for_update=for_update)
    if len(ids) > 1:
        raise errors.AmbiguousJobId(f"several {noun}s start with {ident!r}; give more characters")
    raise errors.JobNotFound(f"no {noun} {ident!r}; {hint}")


def get_job(session: Session, job_id: str, *, for_update: bool = False) -> Job:
    """The job with this id or unique id prefix (6+ characters)."""
    return by_id_or_prefix(
        session, Job, job_id, noun="job", hint="list jobs with 'jobprobe job-history'",
        for_update=for_update,
    )  # fmt: skip


def find_job(session: Session, job_id: str) -> Job | None:
    """Like ``get_job`` but None when there is no such job."""
    try:
        return get_job(session, job_id)
    except errors.JobNotFound:
        return None


def set_status(
    session: Session,
    job: Job,
    status: JobStatus,
    *,
    detail: str | None = None,
    at: datetime | None = None,
) -> None:
    """Move ``job`` to ``status`` and record the timestamped event."""
    now = at or utcnow()
    job.status = status
    job.updated_at = now
    session.add(StatusEvent(job_id=job.id, status=status, at=now, detail=detail))


def request_cancel(session: Session, job_id: str) -> Job:
    """Ask for a job to be cancelled: a queued one ends now, and so does a running one whose
    lease expired (its worker is gone); one whose worker holds a live lease ends at that
    worker's next check (within about a second), which kills it."""
    job = get_job(session, job_id, for_update=True)
    if job.status in TERMINAL:
        return job
    now = utcnow()
    job.cancel_requested = True
    if job.status == JobStatus.QUEUED:
        set_status(session, job, JobStatus.CANCELLED, detail="cancelled while queued", at=now)
        job.ended_at = now
    elif job.lease_expires_at is None or job.lease_expires_at <= now:
        # No live attempt can write any more (fenced by status): it ends here.
        set_status(
            session, job, JobStatus.CANCELLED, detail="cancelled; its worker was gone", at=now
        )
        job.ended_at = now
        job.lease_expires_at = None
    else:
        job.updated_at = now
    return job


def cancel_requested(session: Session, job_id: str) -> bool:
    """Whether someone asked to cancel this job."""
    value = session.scalar(sa.select(Job.cancel_requested).where(Job.id == job_id))
    return bool(value)


def status_history(session: Session, job_id: str) -> list[StatusEvent]:
    """A job's status events, oldest first."""
    stmt = (
        sa.select(StatusEvent)
        .where(StatusEvent.job_id == job_id)
        .order_by(StatusEvent.at, StatusEvent.id)
    )
    return list(session.scalars(stmt))


def _filtered(
    stmt: sa.Select[Any],
    *,
    status: JobStatus | None = None,
    tool: str | None = None,
    queue: str | None = None,
    source: JobSource | None = None,
    labels: Mapping[str, str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> sa.Select[Any]:
    if status:
        stmt = stmt.where(Job.status == status)
    if tool:
        stmt = stmt.where(Job.tool == tool)
    if queue:
        stmt = stmt.where(Job.queue == queue)
    if source:
        stmt = stmt.where(Job.source == source)
    if since:
        stmt = stmt.where(Job.submitted_at >= since)
    if until:
        stmt = stmt.where(Job.submitted_at < until)
    for key, value in (labels or {}).items():
        stmt = stmt.where(
            sa.exists().where(
                JobLabel.job_id == Job.id, JobLabel.key == key, JobLabel.value == value
            )
        )
    return stmt


def running_by_queue(session: Session, **filters: Any) -> dict[str, dict[str, int]]:
    """Per queue, the jobs matching ``filters`` (``status=running`` for what runs now) and the
    GPUs they asked for, in one grouped count."""
    counts = cast(
        "sa.Select[Any]",
        sa.select(Job.queue, sa.func.count(), sa.func.coalesce(sa.func.sum(Job.gpus), 0)),
    )
    stmt = _filtered(counts, **filters).group_by(Job.queue)
    return {
        str(queue): {"running_jobs": int(count), "gpus_in_use": int(gpus)}
        for queue, count, gpus in session.execute(stmt)
    }


def names_seen(session: Session, *, since: datetime, top: int = 40) -> dict[str, Any]:
    """The names jobs submitted since ``since`` used, most used first: ``{"labels": {key:
    [values]}, "queues": [...], "tools": [...]}`` (at most ``top`` of each)."""
    recent = Job.submitted_at >= since

    def ranked(column: Any) -> list[str]:
        stmt = (
            sa.select(column, sa.func.count()).where(recent).group_by(column)
            .order_by(sa.func.count().desc(), column).limit(top)
        )  # fmt: skip
        return [str(name) for name, _ in session.execute(stmt) if name is not None]

    pairs = session.execute(
        sa.select(JobLabel.key, JobLabel.value, sa.func.count())
        .join(Job, Job.id == JobLabel.job_id)
        .where(recent)
        .group_by(JobLabel.key, JobLabel.value)
        .order_by(JobLabel.key, sa.func.count().desc(), JobLabel.value)
    )
    labels: dict[str, list[str]] = {}
    for key, value, _ in pairs:
        values = labels.setdefault(str(key), [])
        if len(values) < top:
            values.append(str(value))
    return {"labels": labels, "queues": ranked(Job.queue), "tools": ranked(Job.tool)}


def encode_cursor(job: Job) -> str:
    """An opaque cursor that continues a history listing after ``job``."""
    return f"{job.submitted_at.isoformat()}|{job.id}"


def job_history(
    session: Session,
    *,
    limit: int = 20,
    cursor: str | None = None,
    **filters: Any,
) -> list[Job]:
    """Jobs newest first, filtered, after ``cursor`` (keyset pagination)."""
    stmt = _filtered(sa.select(Job), **filters)
    if cursor:
        try:
            at_text, last_id = cursor.split("|", 1)
            at = datetime.fromisoformat(at_text)
        except ValueError as exc:
            raise errors.StoreError(
                f"bad cursor {cursor!r}; pass one printed by job-history"
            ) from exc
        stmt = stmt.where(
            sa.or_(Job.submitted_at < at, sa.and_(Job.submitted_at == at, Job.id < last_id))
        )
    stmt = stmt.order_by(Job.submitted_at.desc(), Job.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def group_column(by: str) -> tuple[sa.ColumnElement[Any], Any]:
    """The SQL expression to group by for ``tool|queue|worker|status|source|label:KEY``."""
    if by.startswith("label:"):
        key = by.split(":", 1)[1]
        # The job's own copy of its labels: one scan of jobs, no subquery per job (at a million
        # jobs, 10 s -> under 1 s on PostgreSQL). job_labels rows stay for the filters' index.
        return Job.labels[key].as_string(), key
    columns: dict[str, Any] = {
        "tool": Job.tool, "queue": Job.queue, "worker": Job.worker,
        "status": Job.status, "source": Job.source,
    }  # fmt: skip
    if by not in columns:
        raise errors.StoreError(
            f"cannot group by {by!r}; use tool, queue, worker, status, source or label:KEY"
        )
    return columns[by], None


def job_stats(session: Session, *, by: str = "tool", **filters: Any) -> list[dict[str, Any]]:
    """Per-group counts, success rate, duration percentiles, CPU-seconds and peak memory."""
    group, _ = group_column(by)
    g = group.label("group")
    ok = sa.func.sum(sa.case((Job.status == JobStatus.SUCCESS, 1), else_=0))
    failed = sa.func.sum(sa.case((Job.status.in_(sorted(FAILURES)), 1), else_=0))
    finished = sa.func.sum(sa.case((Job.status.in_(sorted(FINISHED)), 1), else_=0))
    cols: list[Any] = [
        g,
        sa.func.count().label("jobs"),
        ok.label("succeeded"),
        failed.label("failed"),
        finished.label("finished"),
        sa.func.avg(Job.duration_s).label("duration_mean_s"),
        sa.func.sum(Job.cpu_total_s).label("cpu_seconds"),
        sa.func.max(Job.memory_peak_mb).label("memory_peak_max_mb"),
        sa.func.avg(Job.queue_wait_s).label("queue_wait_mean_s"),
    ]
    postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
    if postgres:
        cols += [
            sa.func.percentile_cont(0.5).within_group(Job.duration_s).label("duration_p50_s"),
            sa.func.percentile_cont(0.95).within_group(Job.duration_s).label("duration_p95_s"),
        ]
    stmt = _filtered(sa.select(*cols), **filters).group_by(g).order_by(sa.func.count().desc())
    rows = [dict(r._mapping) for r in session.execute(stmt)]
    if not postgres:
        _fill_percentiles_in_python(session, rows, group, filters)
    for row in rows:
        row["success_rate"] = success_rate(row["succeeded"], row["finished"])
        for key, value in list(row.items()):
            if hasattr(value, "__float__") and not isinstance(value, int | float | bool):
                row[key] = float(value)
    return rows


def _fill_percentiles_in_python(
    session: Session,
    rows: list[dict[str, Any]],
    group: sa.ColumnElement[Any],
    filters: Mapping[str, Any],
) -> None:
    """SQLite has no percentile_cont: compute the percentiles from the durations."""
    stmt = _filtered(sa.select(group.label("group"), Job.duration_s), **filters).where(
        Job.duration_s.is_not(None)
    )
    durations: dict[Any, list[float]] = {}
    for grp, duration in session.execute(stmt):
        durations.setdefault(grp, []).append(duration)
    for row in rows:
        values = durations.get(row["group"], [])
        row["duration_p50_s"] = stats.percentile(values, 50)
        row["duration_p95_s"] = stats.percentile(values, 95)
