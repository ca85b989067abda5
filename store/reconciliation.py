"""Reconciliation's queries: what the store holds that no worker or message will finish.

One sweep, in one transaction, takes the jobs it acts on with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so sweeps may run at once (beat and every worker) without acting twice on a job:

- a ``running`` job whose lease expired (its worker died, froze or was cut off) is published
  again, at most once per expiry; past ``max_attempts`` it ends ``lost``; one whose cancel was
  asked ends ``cancelled``;
- a ``queued`` job unclaimed for ``requeue_after`` seconds (its message was lost with the
  broker's data, or its client died before publishing) is published again, then again at
  growing intervals (each wait as long as the job's age so far, at least ``requeue_after``), so
  a long queue is not flooded with duplicates.

A PostgreSQL server that started less than ``settle_seconds`` ago (a database restart, an
outage) has every lease expired at once: the sweep leaves running jobs alone until then, so the
workers still running them renew their leases, and those holding a spooled outcome replay it,
before any job is taken from them.

Duplicate messages are harmless: claims are fenced (``store.attempts``). Publishing is the
caller's (``publish(job_id, queue)``; the store does not import Celery); a job whose publish
fails is left as it was, for the next sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobprobe.store.jobs import set_status, utcnow
from jobprobe.store.models import Job
from jobprobe.store.status import JobStatus


@dataclass
class SweepResult:
    """What one sweep did, by job id."""

    republished: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    publish_failed: list[str] = field(default_factory=list)
    #: True when the database had just started and the sweep waited (``settle_seconds``).
    settling: bool = False

    def as_dict(self) -> dict[str, list[str]]:
        """The small JSON a task returns."""
        return {
            "republished": self.republished, "lost": self.lost, "cancelled": self.cancelled,
            "publish_failed": self.publish_failed,
        }  # fmt: skip


def _locked(session: Session, stmt: sa.Select[Any]) -> list[Job]:
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def sweep(
    session: Session,
    *,
    max_attempts: int,
    requeue_after: float,
    publish: Callable[[str, str], None],
    limit: int = 500,
    now: datetime | None = None,
    settle_seconds: float = 0.0,
) -> SweepResult:
    """Settle the jobs no live attempt or message will finish (see the module's docstring).

    ``publish(job_id, queue)`` sends a job's message; an exception from it leaves that job for
    the next sweep. Commits are the caller's (the session's).
    """
    now = now or utcnow()
    result = SweepResult()
    if _server_uptime(session) < settle_seconds:
        result.settling = True
        return result
    expired = _locked(
        session,
        sa.select(Job)
        .where(
            Job.status == JobStatus.RUNNING,
            sa.or_(Job.lease_expires_at.is_(None), Job.lease_expires_at <= now),
        )
        .order_by(Job.lease_expires_at)
        .limit(limit),
    )
    for job in expired:
        if job.cancel_requested:
            set_status(session, job, JobStatus.CANCELLED, detail="cancelled; its worker was gone",
                       at=now)  # fmt: skip
            job.ended_at = now
            job.lease_expires_at = None
            result.cancelled.append(job.id)
        elif job.attempts >= max_attempts:
            set_status(session, job, JobStatus.LOST,
                       detail=f"worker lost {job.attempts} time(s); giving up", at=now)  # fmt: skip
            job.ended_at = now
            job.error = f"worker lost during each of {job.attempts} attempt(s)"
            job.lease_expires_at = None
            result.lost.append(job.id)
        elif _due_after_expiry(job, now, requeue_after):
            _publish(job, now, publish, result)
    stale = now - timedelta(seconds=requeue_after)
    queued = _locked(
        session,
        sa.select(Job)
        .where(
            Job.status == JobStatus.QUEUED,
            Job.cancel_requested.is_(False),
            Job.submitted_at <= stale,
            sa.or_(Job.published_at.is_(None), Job.published_at <= stale),
        )
        .order_by(Job.submitted_at)
        .limit(limit),
    )
    for job in queued:
        if _due_while_queued(job, now, requeue_after):
            _publish(job, now, publish, result)
    session.flush()
    return result


def _server_uptime(session: Session) -> float:
    """Seconds since the PostgreSQL server started (infinite elsewhere: nothing to wait for)."""
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return float("inf")
    uptime = session.scalar(
        sa.select(sa.func.extract("epoch", sa.func.now() - sa.func.pg_postmaster_start_time()))
    )
    return float(uptime) if uptime is not None else float("inf")


def _due_after_expiry(job: Job, now: datetime, requeue_after: float) -> bool:
    """Publish once when the lease has expired, then every ``requeue_after`` while unclaimed."""
    if job.published_at is None or job.lease_expires_at is None:
        return True
    if job.published_at < job.lease_expires_at:
        return True  # not published since this expiry
    return (now - job.published_at).total_seconds() >= requeue_after


def _due_while_queued(job: Job, now: datetime, requeue_after: float) -> bool:
    if job.published_at is None:
        return True
    waited = (now - job.published_at).total_seconds()
    age = (job.published_at - job.submitted_at).total_seconds()
    return waited >= max(requeue_after, age)


def _publish(
    job: Job, now: datetime, publish: Callable[[str, str], None], result: SweepResult
) -> None:
    if result.publish_failed:  # the broker is out of reach: do not wait on it once per job
        result.publish_failed.append(job.id)
        return
    try:
        publish(job.id, job.queue)
    except Exception:  # the broker's error: this job waits for the next sweep
        result.publish_failed.append(job.id)
        return
    job.published_at = now
    result.republished.append(job.id)
