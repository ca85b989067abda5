"""The worker pool as the store sees it: which workers ran jobs lately (and on which queues),
and how many jobs wait and run on each queue. No broker is asked: the store decides who runs
a job, so these hold whichever broker is in use, and while it is down."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobprobe.store.models import Job
from jobprobe.store.status import JobStatus


def workers(session: Session, *, since: datetime) -> list[dict[str, Any]]:
    """Per worker that holds a running job or changed a job since ``since``: ``worker``,
    ``last_seen`` (its newest job change), ``running``, ``jobs`` (changed since) and
    ``queues`` (of those jobs), by name."""
    running = Job.status == JobStatus.RUNNING
    recent = sa.and_(Job.worker.is_not(None), sa.or_(running, Job.updated_at >= since))
    stmt = (
        sa.select(
            Job.worker,
            sa.func.max(Job.updated_at).label("last_seen"),
            sa.func.sum(sa.case((running, 1), else_=0)).label("running"),
            sa.func.count().label("jobs"),
        )
        .where(recent)
        .group_by(Job.worker)
        .order_by(Job.worker)
    )
    rows = [dict(r._mapping) for r in session.execute(stmt)]
    queues: dict[str, set[str]] = {}
    for worker, queue in session.execute(sa.select(Job.worker, Job.queue).where(recent).distinct()):
        queues.setdefault(str(worker), set()).add(str(queue))
    for row in rows:
        row["running"] = int(row["running"] or 0)
        row["queues"] = sorted(queues.get(str(row["worker"]), ()))
    return rows


def queue_lengths(session: Session) -> list[dict[str, Any]]:
    """Per queue with a waiting or running job: ``queue``, ``queued``, ``running`` and
    ``oldest_queued_at`` (the submission time of its longest-waiting job, None when none
    waits), by name."""
    live = Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING])
    stmt = (
        sa.select(
            Job.queue,
            sa.func.sum(sa.case((Job.status == JobStatus.QUEUED, 1), else_=0)).label("queued"),
            sa.func.sum(sa.case((Job.status == JobStatus.RUNNING, 1), else_=0)).label("running"),
        )
        .where(live)
        .group_by(Job.queue)
        .order_by(Job.queue)
    )
    rows = [dict(r._mapping) for r in session.execute(stmt)]
    oldest_stmt = (
        sa.select(Job.queue, sa.func.min(Job.submitted_at))
        .where(Job.status == JobStatus.QUEUED)
        .group_by(Job.queue)
    )
    oldest = {str(q): at for q, at in session.execute(oldest_stmt)}
    for row in rows:
        row["queued"], row["running"] = int(row["queued"] or 0), int(row["running"] or 0)
        row["oldest_queued_at"] = oldest.get(str(row["queue"]))
    return rows
