"""Bulk writes and reads of profiler samples (COPY on PostgreSQL, executemany elsewhere)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobprobe.store.db import Store
from jobprobe.store.models import SAMPLE_FLOAT_COLUMNS, SAMPLE_INT_COLUMNS, Sample

COLUMNS: tuple[str, ...] = SAMPLE_FLOAT_COLUMNS + SAMPLE_INT_COLUMNS
COPY_COLUMNS: tuple[str, ...] = ("job_id", "attempt", "t", *COLUMNS, "extra")
_FIXED = frozenset({"t", "attempt", *COLUMNS})
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


#: The types of the figures a time series keeps from ``extra`` (not bool: ``type`` is exact).
_NUMBER_TYPES = frozenset({int, float, type(None)})
_ABSENT = object()


def scalar_extras(extra: Any) -> dict[str, float | int | None]:
    """The numbers among a sample's ``extra`` figures (a control group's memory, per-GPU
    figures, ...); lists such as the top processes are left out of a time series."""
    if not isinstance(extra, dict):
        return {}
    return {k: v for k, v in extra.items() if type(v) in _NUMBER_TYPES and k not in _FIXED}


def _sample_rows(session: Session, job_id: str) -> Sequence[Sequence[Any]]:
    """The job's samples, oldest first, as ``(t in unix seconds, attempt, *COLUMNS, extra as
    JSON text)``. PostgreSQL sends them in its binary format (numbers decoded without text;
    a fifth less time for an hour of samples); elsewhere through SQLAlchemy."""
    if session.get_bind().dialect.name == "postgresql":
        sql = (
            f"SELECT extract(epoch FROM t)::float8, attempt, {', '.join(COLUMNS)}, extra::text "
            "FROM samples WHERE job_id = %s ORDER BY t, id"
        )
        import psycopg

        from jobprobe.store import errors

        dbapi: Any = session.connection().connection.dbapi_connection
        try:
            with dbapi.cursor(binary=True) as cursor:
                cursor.execute(sql, (job_id,))
                return list(cursor.fetchall())
        except psycopg.OperationalError as e:  # raw cursor errors are not wrapped by SQLAlchemy
            raise errors.StoreUnavailable(
                f"reading samples failed: {str(e).splitlines()[0]}"
            ) from e
        except psycopg.Error as e:
            raise errors.StoreError(f"reading samples failed: {str(e).splitlines()[0]}") from e
    extra_text = sa.cast(Sample.extra, sa.Text)
    columns = [Sample.t, Sample.attempt, *(getattr(Sample, c) for c in COLUMNS), extra_text]
    stmt = sa.select(*columns).where(Sample.job_id == job_id).order_by(Sample.t, Sample.id)
    return [(r[0].timestamp(), *r[1:]) for r in session.execute(stmt)]


def load_timeseries(session: Session, job_id: str) -> dict[str, list[Any]]:
    """All stored samples of a job as columns (``t`` as unix seconds), oldest first: the
    common columns, then every numeric figure of ``extra`` (null where a sample lacks it).

    Rows are read as plain tuples (no ORM objects), their extras parsed in one go, and turned
    into columns a column at a time: an hour's 7,200 samples in an eighth of the time the ORM
    took (bench/web_api.py)."""
    rows = _sample_rows(session, job_id)
    out: dict[str, list[Any]] = {"t": [r[0] for r in rows], "attempt": [r[1] for r in rows]}
    for i, name in enumerate(COLUMNS, start=2):
        out[name] = [r[i] for r in rows]
    parsed = json.loads("[" + ",".join(r[-1] or "null" for r in rows) + "]")
    extras = [e if isinstance(e, dict) else {} for e in parsed]
    keys: dict[str, Any] = {}  # in the order they first appear
    for figures in extras:
        keys.update(figures)
    for key in keys:
        if key in _FIXED:
            continue
        raw = [figures.get(key, _ABSENT) for figures in extras]
        # scalar_extras' rule, a column at a time: a figure some sample has as a number (or
        # null) is a column; elsewhere (absent, a list, a flag) it is null.
        if any(type(v) in _NUMBER_TYPES for v in raw):
            out[key] = [v if type(v) in _NUMBER_TYPES else None for v in raw]
    return out


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
