"""Bulk writes and reads of profiler samples (COPY on PostgreSQL, executemany elsewhere)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobprobe.store.db import Store
from jobprobe.store.models import Sample
from jobprobe.store.sample_reads import (
    COLUMNS,
    SAMPLE_FLOAT_COLUMNS,
    SAMPLE_INT_COLUMNS,
    scalar_extras,
)

COPY_COLUMNS: tuple[str, ...] = ("job_id", "attempt", "t", *COLUMNS, "extra")
_KNOWN = frozenset(COLUMNS) | {"t"}


def _row(job_id: str, attempt: int, sample: Mapping[str, Any]) -> tuple[Any, ...]:
    # Runs for every sample written: map() over the column names, no per-column generator.
    get = sample.get
    t = get("t")
    at = datetime.fromtimestamp(t, UTC) if isinstance(t, int | float) else datetime.now(UTC)
    extra = {k: v for k, v in sample.items() if k not in _KNOWN}
    ints = [None if v is None else int(v) for v in map(get, SAMPLE_INT_COLUMNS)]
    return (job_id, attempt, at, *map(get, SAMPLE_FLOAT_COLUMNS), *ints,
            json.dumps(extra) if extra else None)  # fmt: skip


def write_samples(
    store: Store, job_id: str, attempt: int, samples: Sequence[Mapping[str, Any]]
) -> int:
    """Append samples of one job attempt in their own transaction, unfenced; returns how many.
    A running attempt writes with ``write_fenced``."""
    if not samples:
        return 0
    with store.transaction() as conn:
        return add_samples(conn, job_id, attempt, samples)


def add_samples(
    conn: sa.Connection, job_id: str, attempt: int, samples: Sequence[Mapping[str, Any]]
) -> int:
    """Append samples within ``conn``'s transaction (COPY on PostgreSQL); returns how many."""
    rows = [_row(job_id, attempt, s) for s in samples]
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        _copy_rows(conn, rows)
    else:
        conn.execute(
            sa.insert(Sample),
            [
                dict(zip(COPY_COLUMNS, r[:-1], strict=False)) | {"extra": _loads(r[-1])}
                for r in rows
            ],
        )
    return len(rows)


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else None


def _copy_rows(conn: sa.Connection, rows: Iterable[tuple[Any, ...]]) -> None:
    import psycopg

    from jobprobe.store import errors

    dbapi: Any = conn.connection.dbapi_connection
    try:
        with (
            dbapi.cursor() as cursor,
            cursor.copy(f"COPY samples ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
    except psycopg.OperationalError as e:  # raw COPY errors are not wrapped by SQLAlchemy
        raise errors.StoreUnavailable(f"writing samples failed: {str(e).splitlines()[0]}") from e
    except psycopg.Error as e:
        raise errors.StoreError(f"writing samples failed: {str(e).splitlines()[0]}") from e


def latest_sample(session: Session, job_id: str) -> dict[str, Any] | None:
    """The newest stored sample of a job (for live progress), or None."""
    stmt = (
        sa.select(Sample).where(Sample.job_id == job_id).order_by(Sample.t.desc(), Sample.id.desc())
    )
    s = session.scalars(stmt.limit(1)).first()
    if s is None:
        return None
    sample: dict[str, Any] = {c: getattr(s, c) for c in COLUMNS} | scalar_extras(s.extra)
    sample["t"] = s.t.timestamp()
    return sample


def count_samples(session: Session, job_id: str) -> int:
    """How many samples are stored for a job."""
    return int(session.scalar(sa.select(sa.func.count()).where(Sample.job_id == job_id)) or 0)


def write_fenced(
    store: Store,
    job_id: str,
    attempt: int,
    samples: Sequence[Mapping[str, Any]],
    *,
    lease_seconds: float,
) -> bool | None:
    """Renew attempt ``attempt``'s lease and append its samples, in one transaction.

    Returns whether a cancel of the job was asked; None when the attempt is no longer the
    job's current one (``store.attempts.renew_lease``): then nothing is written.
    """
    from jobprobe.store import attempts

    with store.transaction() as conn:
        cancel = attempts.renew_lease(conn, job_id, attempt, lease_seconds=lease_seconds)
        if cancel is not None and samples:
            add_samples(conn, job_id, attempt, samples)
    return cancel
