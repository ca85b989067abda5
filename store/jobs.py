"""Job queries: create, look up, move through statuses, finish, list and aggregate."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobprobe.store import errors, ids
from jobprobe.store.models import Base, Job, JobLabel, StatusEvent
from jobprobe.store.status import TERMINAL, JobSource, JobStatus

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

    def exact(full_id: str) -> M | None:
        stmt = sa.select(model).where(column == full_id)
        if for_update and session.bind is not None and session.bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return session.scalars(stmt).first()

    def starting(prefix: str) -> list[str]:
        pattern = ids.like_prefix(prefix)
        return list(session.scalars(sa.select(column).where(column.like(pattern, "\\")).limit(2)))

    return ids.resolve(ident, exact=exact, starting=starting, noun=noun, hint=hint)


def get_job(session: Session, job_id: str, *, for_update: bool = False) -> Job:
    """The job with this id or unique id prefix (6+ characters)."""
    return by_id_or_prefix(
        session, Job, job_id, noun="job", hint=ids.JOB_HINT,
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
