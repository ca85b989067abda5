"""Sweep queries (a group of jobs across values of one parameter) and record streams for trends."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobprobe.store import errors, records
from jobprobe.store import jobs as store_jobs
from jobprobe.store.jobs import by_id_or_prefix
from jobprobe.store.models import Job, Report, Sweep
from jobprobe.store.status import TERMINAL, SweepStatus


def create_sweep(
    session: Session,
    *,
    tool: str,
    script_name: str,
    vary_name: str,
    vary_values: Sequence[Any],
    repeat: int = 1,
    params: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    slo_p99_ms: float | None = None,
) -> Sweep:
    """Insert a sweep (status ``running``); returns it, flushed."""
    sweep = Sweep(
        id=uuid.uuid4().hex,
        tool=tool,
        script_name=script_name,
        vary_name=vary_name,
        vary_values=list(vary_values),
        repeat=repeat,
        params=dict(params or {}),
        labels=dict(labels or {}),
        slo_p99_ms=slo_p99_ms,
        status=SweepStatus.RUNNING,
        created_at=store_jobs.utcnow(),
    )
    session.add(sweep)
    session.flush()
    return sweep


def get_sweep(session: Session, sweep_id: str, *, for_update: bool = False) -> Sweep:
    """The sweep with this id or unique id prefix (6+ characters).

    ``for_update`` locks the row on PostgreSQL so concurrent analyses of one sweep serialise.
    """
    return by_id_or_prefix(
        session, Sweep, sweep_id, noun="sweep", hint="the sweep command prints its id",
        for_update=for_update,
    )  # fmt: skip


def find_sweep(session: Session, sweep_id: str) -> Sweep | None:
    """Like ``get_sweep`` but None when there is no such sweep."""
    try:
        return get_sweep(session, sweep_id)
    except errors.JobNotFound:
        return None


def delete_sweep(session: Session, sweep_id: str) -> None:
    """Remove a sweep and its jobs (used when its submission could not be completed)."""
    session.execute(sa.delete(Job).where(Job.sweep_id == sweep_id))
    session.execute(sa.delete(Sweep).where(Sweep.id == sweep_id))


def sweep_jobs(session: Session, sweep_id: str) -> list[Job]:
    """The sweep's jobs in submission order."""
    stmt = sa.select(Job).where(Job.sweep_id == sweep_id).order_by(Job.submitted_at, Job.id)
    return list(session.scalars(stmt))


def sweep_records(session: Session, sweep_id: str) -> list[dict[str, Any]]:
    """The records of the sweep's jobs (no timeseries), in submission order."""
    return [records.to_record(j) for j in sweep_jobs(session, sweep_id)]


def all_ended(session: Session, sweep_id: str) -> bool:
    """True when the sweep has jobs and every one of them has ended."""
    statuses = session.scalars(sa.select(Job.status).where(Job.sweep_id == sweep_id)).all()
    return bool(statuses) and all(s in TERMINAL for s in statuses)


def mark_sweep_status(session: Session, sweep_id: str, status: SweepStatus) -> None:
    """Set a sweep's status."""
    session.execute(sa.update(Sweep).where(Sweep.id == sweep_id).values(status=status))


def latest_report(
    session: Session, *, kind: str, job_id: str | None = None, sweep_id: str | None = None
) -> Report | None:
    """The newest stored report of ``kind`` for a job or a sweep."""
    stmt = sa.select(Report).where(Report.kind == kind)
    if job_id is not None:
        stmt = stmt.where(Report.job_id == job_id)
    if sweep_id is not None:
        stmt = stmt.where(Report.sweep_id == sweep_id)
    return session.scalars(stmt.order_by(Report.created_at.desc(), Report.id.desc())).first()


def current_report(session: Session, sweep_id: str, jobs_fingerprint: str) -> Report | None:
    """The sweep's report when it was written for the jobs that have ended now (its
    ``body["jobs_fingerprint"]`` is ``jobs_fingerprint``); None while it has none or an older one.
    """
    last = latest_report(session, kind="sweep", sweep_id=sweep_id)
    if last is None or last.body.get("jobs_fingerprint") != jobs_fingerprint:
        return None
    return last


def list_sweeps(
    session: Session, *, limit: int = 20, status: SweepStatus | None = None,
    tool: str | None = None,
) -> list[Sweep]:  # fmt: skip
    """Sweeps newest first (of ``status`` and ``tool`` when given)."""
    stmt = sa.select(Sweep)
    if status:
        stmt = stmt.where(Sweep.status == status)
    if tool:
        stmt = stmt.where(Sweep.tool == tool)
    stmt = stmt.order_by(Sweep.created_at.desc(), Sweep.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def job_counts(session: Session, sweep_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per sweep the number of its jobs in each status (``{sweep_id: {status: n}}``)."""
    if not sweep_ids:
        return {}
    stmt = (
        sa.select(Job.sweep_id, Job.status, sa.func.count())
        .where(Job.sweep_id.in_(list(sweep_ids)))
        .group_by(Job.sweep_id, Job.status)
    )
    out: dict[str, dict[str, int]] = {}
    for sweep_id, status, n in session.execute(stmt):
        out.setdefault(str(sweep_id), {})[str(status)] = int(n)
    return out
