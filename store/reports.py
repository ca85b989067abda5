"""Stored analysis reports (job, sweep, comparison, insight)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobprobe.store import jobs as store_jobs
from jobprobe.store.models import Report


def save_report(
    session: Session,
    *,
    kind: str,
    body: dict[str, Any],
    markdown: str | None = None,
    path: str | None = None,
    job_id: str | None = None,
    sweep_id: str | None = None,
) -> Report:
    """Store a report; returns it."""
    report = Report(
        kind=kind, job_id=job_id, sweep_id=sweep_id, body=body, markdown=markdown, path=path,
        created_at=store_jobs.utcnow(),
    )  # fmt: skip
    session.add(report)
    session.flush()
    return report


def job_report(session: Session, job_id: str) -> Report | None:
    """The job's automatic report (kind ``job``), if it has one."""
    stmt = (
        sa.select(Report)
        .where(Report.job_id == job_id, Report.kind == "job")
        .order_by(Report.created_at.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def save_job_report(
    session: Session, job_id: str, *, body: dict[str, Any], markdown: str, path: str
) -> tuple[Report, bool]:
    """Store the job's automatic report unless it has one; returns (its report, whether this
    call stored it). The job's row lock makes two writers of one job's report store one."""
    store_jobs.get_job(session, job_id, for_update=True)
    saved = job_report(session, job_id)
    if saved is not None:
        return saved, False
    saved = save_report(session, kind="job", body=body, markdown=markdown, path=path, job_id=job_id)
    return saved, True
