"""Reads that follow a running job: what was stored after what a reader has already seen.

A live view (the web API's server-sent events) keeps the id of the last sample and the last
status event it sent and asks for those after them; ids only grow, so nothing is sent twice
and nothing is missed, whichever worker wrote them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobprobe.store.models import Job, Sample, StatusEvent
from jobprobe.store.sample_reads import COLUMNS, scalar_extras


def job_state(session: Session, job_id: str) -> tuple[str, str] | None:
    """``(status, id)`` of the job with exactly this id, or None."""
    row = session.execute(sa.select(Job.status, Job.id).where(Job.id == job_id)).first()
    return None if row is None else (str(row[0]), str(row[1]))


def samples_after(
    session: Session, job_id: str, after_id: int, *, limit: int = 2000
) -> list[dict[str, Any]]:
    """The job's samples stored after sample ``after_id`` (at most ``limit``), in the order
    they were stored; each as ``load_timeseries``' columns (and numeric extras) plus ``id`` and ``attempt``, ``t``
    in unix seconds."""
    stmt = (
        sa.select(Sample)
        .where(Sample.job_id == job_id, Sample.id > after_id)
        .order_by(Sample.id)
        .limit(limit)
    )
    out: list[dict[str, Any]] = []
    for s in session.scalars(stmt):
        row: dict[str, Any] = {"id": s.id, "attempt": s.attempt, "t": s.t.timestamp()}
        row.update({c: getattr(s, c) for c in COLUMNS})
        row.update(scalar_extras(s.extra))
        out.append(row)
    return out


def events_after(session: Session, job_id: str, after_id: int) -> list[dict[str, Any]]:
    """The job's status changes recorded after event ``after_id``, oldest first
    (``{"id", "status", "at", "detail"}``, ``at`` in ISO 8601)."""
    stmt = (
        sa.select(StatusEvent)
        .where(StatusEvent.job_id == job_id, StatusEvent.id > after_id)
        .order_by(StatusEvent.id)
    )
    return [
        {"id": e.id, "status": str(e.status), "at": e.at.isoformat(), "detail": e.detail}
        for e in session.scalars(stmt)
    ]
