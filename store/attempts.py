"""A job's deliveries on the worker's hot path: claim an attempt (fenced by its number), and
write its outcome with its final status event."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobprobe.store.columns import UtcDateTime
from jobprobe.store.jobs import get_job, set_status, utcnow
from jobprobe.store.models import Job, StatusEvent
from jobprobe.store.status import TERMINAL, JobStatus

# The tables, for Core statements (claim and finish run once per job on every worker).
JOBS = cast(sa.Table, Job.__table__)
EVENTS = cast(sa.Table, StatusEvent.__table__)


@dataclass(frozen=True)
class Claim:
    """A delivery claimed by a worker: what it needs to run the job."""

    job_id: str
    attempt: int
    tool: str
    profile_enabled: bool
    script_name: str
    script_content: str | None
    params: dict[str, Any]
    timeout_s: float | None
    gpus: int
    mem_limit_bytes: int | None = None
    cpu_limit: float | None = None
    max_procs: int | None = None


_CLAIM_COLUMNS = ("id", "attempts", "tool", "profile_enabled", "script_name", "script_content",
                  "params", "timeout_s", "gpus", "mem_limit_bytes", "cpu_limit", "max_procs")  # fmt: skip


def begin_attempt(
    conn: sa.Connection, job_id: str, *, worker: str, max_attempts: int
) -> Claim | None:
    """Claim a delivery of ``job_id`` for ``worker``, in ``conn``'s transaction: now ``running``.

    Returns None when it must not run: it already ended (a duplicate delivery), was cancelled
    while queued, or used up its deliveries (then it is marked ``lost``).
    """
    claim = _claim(conn, job_id, worker=worker, max_attempts=max_attempts)
    if claim is not None:
        return claim
    # Not claimable as asked: find out why (or resolve an id prefix) under a row lock.
    with Session(conn, expire_on_commit=False) as session:  # joins conn's transaction
        job = get_job(session, job_id, for_update=True)
        claimable = _settle_unclaimable(session, job, max_attempts)
        session.commit()
    return _claim(conn, job.id, worker=worker, max_attempts=max_attempts) if claimable else None


def _settle_unclaimable(session: Session, job: Job, max_attempts: int) -> bool:
    """Whether ``job`` may still run; if not and it has not ended, end it (cancelled or lost)."""
    if job.status in TERMINAL:
        return False
    if job.cancel_requested:
        set_status(session, job, JobStatus.CANCELLED, detail="cancelled before it started")
        job.ended_at = utcnow()
        return False
    if job.attempts >= max_attempts:
        set_status(
            session, job, JobStatus.LOST, detail=f"worker lost {job.attempts} time(s); giving up"
        )
        job.ended_at = utcnow()
        job.error = f"worker lost during each of {job.attempts} attempt(s)"
        return False
    return True  # claimable after all: the id was a prefix


def _claim(conn: sa.Connection, job_id: str, *, worker: str, max_attempts: int) -> Claim | None:
    """The common case: a claimable job becomes ``running``, its event recorded (None otherwise).

    The conditions sit in the UPDATE's WHERE, so two workers racing for one delivery cannot
    both win: the row lock makes the second re-check them against the first one's write.
    On PostgreSQL the update and the event are one statement.
    """
    now = utcnow()
    params = {"job_id": job_id, "worker": worker, "max_attempts": max_attempts, "now": now}
    dialect = conn.dialect.name
    row = conn.execute(_claim_statement(dialect), params).first()
    if row is None:
        return None
    if dialect != "postgresql":
        event = {"job_id": row.id, "status": JobStatus.RUNNING, "at": now,
                 "detail": f"attempt {row.attempts} on {worker}"}  # fmt: skip
        conn.execute(_event_statement(), event)
    return Claim(
        job_id=row.id, attempt=row.attempts, tool=row.tool, profile_enabled=row.profile_enabled,
        script_name=row.script_name, script_content=row.script_content,
        params=dict(row.params or {}), timeout_s=row.timeout_s, gpus=row.gpus,
        mem_limit_bytes=row.mem_limit_bytes, cpu_limit=row.cpu_limit, max_procs=row.max_procs,
    )  # fmt: skip


# Claim, finish and their events run once per job on every worker. Built once, with bound
# parameters: building a statement costs more than running it (about 1.5 ms of CPU a job).
# On PostgreSQL each is one statement (a data-modifying WITH), one round trip.


@functools.cache
def _claim_statement(dialect: str) -> sa.Select[Any] | sa.Update:
    now = sa.bindparam("now", type_=UtcDateTime())
    waited: sa.ColumnElement[Any]
    if dialect == "postgresql":
        waited = sa.extract("epoch", now - JOBS.c.submitted_at)
    else:  # SQLite keeps naive UTC text; julianday() reads it
        waited = (sa.func.julianday(now) - sa.func.julianday(JOBS.c.submitted_at)) * 86400.0
    update = (
        sa.update(JOBS)
        .where(
            JOBS.c.id == sa.bindparam("job_id"),
            JOBS.c.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
            JOBS.c.cancel_requested.is_(False),
            JOBS.c.attempts < sa.bindparam("max_attempts"),
        )
        .values(
            status=JobStatus.RUNNING,
            attempts=JOBS.c.attempts + 1,
            worker=sa.bindparam("worker"),
            started_at=now,
            updated_at=now,
            queue_wait_s=waited,
        )
        .returning(*(JOBS.c[name] for name in _CLAIM_COLUMNS))
    )
    if dialect != "postgresql":
        return update
    claimed = update.cte("claimed")
    detail = "attempt " + sa.cast(claimed.c.attempts, sa.String) + " on " + sa.bindparam("worker")
    running = sa.literal(JobStatus.RUNNING, EVENTS.c.status.type)
    event = _event_from(sa.select(claimed.c.id, running, now, detail))
    return sa.select(claimed).add_cte(event.cte("event"))


def _event_from(rows: sa.Select[Any]) -> sa.Insert:
    """INSERT INTO status_events (job_id, status, at, detail) ``rows``."""
    return sa.insert(EVENTS).from_select(["job_id", "status", "at", "detail"], rows)


@functools.cache
def _event_statement() -> sa.Insert:
    return sa.insert(EVENTS).values(
        job_id=sa.bindparam("job_id"),
        status=sa.bindparam("status"),
        at=sa.bindparam("at", type_=UtcDateTime()),
        detail=sa.bindparam("detail"),
    )


@functools.lru_cache(maxsize=32)
def _finish_statement(dialect: str, fields: tuple[str, ...]) -> sa.Update | sa.Insert:
    # Bound names differ from column names: an UPDATE takes a parameter named like a column
    # as one more value to SET.
    values: dict[str, Any] = {name: sa.bindparam(f"v_{name}", type_=JOBS.c[name].type)
                              for name in fields}  # fmt: skip
    update = sa.update(JOBS).where(JOBS.c.id == sa.bindparam("key")).values(**values)
    if dialect != "postgresql":
        return update
    done = update.returning(JOBS.c.id).cte("done")
    event = _event_from(
        sa.select(
            done.c.id,
            sa.bindparam("e_status", type_=sa.String),
            sa.bindparam("e_at", type_=UtcDateTime()),
            sa.bindparam("e_detail", type_=sa.String),
        )
    )
    return event.add_cte(done).returning(EVENTS.c.job_id)


FINISH_FIELDS = (
    "returncode", "error", "duration_s", "cpu_user_s", "cpu_system_s", "cpu_total_s",
    "memory_peak_mb", "detailed_profile", "metrics", "host", "workdir", "stdout_path",
    "stderr_path", "stdout_tail", "stderr_tail", "artifacts", "containment",
)  # fmt: skip


def finish_job(conn: sa.Connection, job_id: str, outcome: Mapping[str, Any]) -> None:
    """Write a job's outcome (a JSON-able mapping, as spooled) and its final status event."""
    ended = outcome.get("ended_at")
    ended_at = datetime.fromisoformat(ended) if isinstance(ended, str) else utcnow()
    status = JobStatus(outcome["status"]).value
    values = {name: outcome[name] for name in FINISH_FIELDS if name in outcome}
    values.update(status=status, ended_at=ended_at, updated_at=ended_at)
    dialect = conn.dialect.name
    params = {f"v_{name}": value for name, value in values.items()} | {"key": job_id}
    detail = outcome.get("status_detail")
    if dialect == "postgresql":
        params |= {"e_status": status, "e_at": ended_at, "e_detail": detail}
    written = conn.execute(_finish_statement(dialect, tuple(values)), params)
    found = written.first() is not None if dialect == "postgresql" else written.rowcount > 0
    if not found:  # not a full id: resolve the prefix
        with Session(conn) as session:
            full_id = get_job(session, job_id).id
        finish_job(conn, full_id, outcome)
        return
    if dialect != "postgresql":
        event = {"job_id": job_id, "status": status, "at": ended_at, "detail": detail}
        conn.execute(_event_statement(), event)
