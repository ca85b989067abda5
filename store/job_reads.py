"""The read queries of jobs, in plain SQL on a ``Reader``: the filtered history and its cursor,
one job by id or prefix, its status events, per-group stats, what runs per queue, and the
records of a span. The one definition of the job filters (``where``).

Standard library only (with ``store.reading``), so the read commands run them without
SQLAlchemy; the web app and the tasks run the same functions on a pooled connection.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from jobprobe.analysis import stats
from jobprobe.store import errors, ids
from jobprobe.store.reading import Reader
from jobprobe.store.status import FAILURES, FINISHED, JobSource, JobStatus, success_rate

#: The columns of a job's record (``store.records.to_record``): every column of ``jobs`` but
#: the script's text, which a record does not carry. A unit test holds this to the model.
RECORD_COLUMNS: tuple[str, ...] = (
    "id", "source", "external_id", "tool", "script_name", "params", "labels", "queue", "gpus",
    "timeout_s", "status", "returncode", "error", "submitted_at", "started_at", "ended_at",
    "duration_s", "queue_wait_s", "worker", "attempts", "cpu_user_s", "cpu_system_s",
    "cpu_total_s", "memory_peak_mb", "detailed_profile", "metrics", "host", "workdir",
    "stdout_path", "stderr_path", "stdout_tail", "stderr_tail", "artifacts", "raw", "sweep_id",
    "mem_limit_bytes", "cpu_limit", "max_procs", "containment", "lease_expires_at",
)  # fmt: skip
#: Of those, the points in time and the JSON values.
TIME_COLUMNS = ("submitted_at", "started_at", "ended_at", "lease_expires_at")
JSON_COLUMNS = ("params", "labels", "detailed_profile", "metrics", "host", "artifacts", "raw",
                "containment")  # fmt: skip
_SELECT = f"SELECT {', '.join(RECORD_COLUMNS)} FROM jobs"
_FINISHED_SQL = ", ".join(f"'{s.value}'" for s in sorted(FINISHED))
_FAILURES_SQL = ", ".join(f"'{s.value}'" for s in sorted(FAILURES))
#: The groups ``job_stats`` knows besides ``label:KEY``.
GROUPS = ("tool", "queue", "worker", "status", "source")


def record_rows(reader: Reader, where_sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The jobs matched by ``SELECT ... FROM jobs <where_sql>``, decoded for a record."""
    return reader.rows(
        f"{_SELECT} {where_sql}", params, times=TIME_COLUMNS, json_columns=JSON_COLUMNS
    )


def where(
    *,
    status: JobStatus | str | None = None,
    tool: str | None = None,
    queue: str | None = None,
    source: JobSource | str | None = None,
    labels: Mapping[str, str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[str], dict[str, Any]]:
    """The job filters as SQL conditions on ``jobs`` and their parameters: each given filter
    must hold; every label ``key=value`` must be one of the job's labels."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    for name, value in (("status", status), ("tool", tool), ("queue", queue), ("source", source)):
        if value:
            conditions.append(f"jobs.{name} = :f_{name}")
            params[f"f_{name}"] = value
    if since:
        conditions.append("jobs.submitted_at >= :f_since")
        params["f_since"] = since
    if until:
        conditions.append("jobs.submitted_at < :f_until")
        params["f_until"] = until
    for n, (key, value) in enumerate((labels or {}).items()):
        conditions.append(
            "EXISTS (SELECT 1 FROM job_labels WHERE job_labels.job_id = jobs.id AND "
            f"job_labels.key = :f_lk{n} AND job_labels.value = :f_lv{n})"
        )
        params[f"f_lk{n}"], params[f"f_lv{n}"] = key, str(value)
    return conditions, params


def _where_sql(conditions: list[str]) -> str:
    return f"WHERE {' AND '.join(conditions)}" if conditions else ""


def encode_cursor(row: Mapping[str, Any]) -> str:
    """An opaque cursor that continues a history listing after the job ``row``."""
    return f"{row['submitted_at'].isoformat()}|{row['id']}"


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The job a cursor continues after: its submission time and id (``StoreError`` for
    text that is not a cursor)."""
    try:
        at_text, last_id = cursor.split("|", 1)
        return datetime.fromisoformat(at_text), last_id
    except ValueError as exc:
        raise errors.StoreError(f"bad cursor {cursor!r}; pass one printed by job-history") from exc


def job_history(
    reader: Reader, *, limit: int = 20, cursor: str | None = None, **filters: Any
) -> list[dict[str, Any]]:
    """Jobs newest first, filtered (``where``), after ``cursor`` (keyset pagination)."""
    conditions, params = where(**filters)
    if cursor:
        at, last_id = decode_cursor(cursor)
        conditions.append(
            "(jobs.submitted_at < :c_at OR (jobs.submitted_at = :c_at AND jobs.id < :c_id))"
        )
        params.update(c_at=at, c_id=last_id)
    params["limit"] = limit
    sql = f"{_where_sql(conditions)} ORDER BY submitted_at DESC, id DESC LIMIT :limit"
    return record_rows(reader, sql, params)


def get_job(reader: Reader, ident: str) -> dict[str, Any]:
    """The job (its record's columns) with this id or unique prefix (6+ characters)."""

    def exact(job_id: str) -> dict[str, Any] | None:
        found = record_rows(reader, "WHERE id = :id", {"id": job_id})
        return found[0] if found else None

    def starting(prefix: str) -> list[str]:
        sql = "SELECT id FROM jobs WHERE id LIKE :p ESCAPE '\\' LIMIT 2"
        return [r[0] for r in reader.tuples(sql, {"p": ids.like_prefix(prefix)})]

    return ids.resolve(ident, exact=exact, starting=starting, noun="job", hint=ids.JOB_HINT)


def status_history(reader: Reader, job_id: str) -> list[dict[str, Any]]:
    """A job's status events, oldest first: ``[{"status", "at", "detail"}]`` (``at`` aware)."""
    sql = "SELECT status, at, detail FROM status_events WHERE job_id = :id ORDER BY at, id"
    return reader.rows(sql, {"id": job_id}, times=("at",))


def running_by_queue(reader: Reader, **filters: Any) -> dict[str, dict[str, int]]:
    """Per queue, the jobs matching ``filters`` (``status=running`` for what runs now) and the
    GPUs they asked for, in one grouped count."""
    conditions, params = where(**filters)
    sql = (
        f"SELECT queue, count(*), coalesce(sum(gpus), 0) FROM jobs {_where_sql(conditions)} "
        "GROUP BY queue"
    )
    return {
        str(queue): {"running_jobs": int(count), "gpus_in_use": int(gpus)}
        for queue, count, gpus in reader.tuples(sql, params)
    }


def group_expression(by: str, dialect: str) -> tuple[str, dict[str, Any]]:
    """The SQL to group jobs by for ``tool|queue|worker|status|source|label:KEY`` (label
    values from the job's own copy of its labels: one scan of jobs, no subquery per job)."""
    if by.startswith("label:"):
        key = by.split(":", 1)[1]
        if dialect == "postgresql":
            return "(jobs.labels ->> :g_key)", {"g_key": key}
        return "json_extract(jobs.labels, :g_key)", {"g_key": '$."' + key + '"'}
    if by not in GROUPS:
        raise errors.StoreError(f"cannot group by {by!r}; use {', '.join(GROUPS)} or label:KEY")
    return f"jobs.{by}", {}


def job_stats(reader: Reader, *, by: str = "tool", **filters: Any) -> list[dict[str, Any]]:
    """Per-group counts, success rate, duration percentiles, CPU-seconds, peak memory and
    mean queue wait; biggest group first."""
    group, params = group_expression(by, reader.dialect)
    conditions, filter_params = where(**filters)
    params.update(filter_params)
    percentiles = (
        ", percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_s) AS duration_p50_s"
        ", percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_s) AS duration_p95_s"
        if reader.postgres
        else ""
    )
    sql = (
        f"SELECT {group} AS grp, count(*) AS jobs, "
        f"sum(CASE WHEN status = '{JobStatus.SUCCESS.value}' THEN 1 ELSE 0 END) AS succeeded, "
        f"sum(CASE WHEN status IN ({_FAILURES_SQL}) THEN 1 ELSE 0 END) AS failed, "
        f"sum(CASE WHEN status IN ({_FINISHED_SQL}) THEN 1 ELSE 0 END) AS finished, "
        "avg(duration_s) AS duration_mean_s, sum(cpu_total_s) AS cpu_seconds, "
        "max(memory_peak_mb) AS memory_peak_max_mb, avg(queue_wait_s) AS queue_wait_mean_s"
        f"{percentiles} FROM jobs {_where_sql(conditions)} GROUP BY {group} ORDER BY count(*) DESC"
    )
    rows = reader.rows(sql, params)
    if not reader.postgres:  # SQLite has no percentile_cont: from the durations
        durations: dict[Any, list[float]] = {}
        timed = _where_sql([*conditions, "duration_s IS NOT NULL"])
        for grp, duration in reader.tuples(f"SELECT {group}, duration_s FROM jobs {timed}", params):
            durations.setdefault(grp, []).append(duration)
        for row in rows:
            values = durations.get(row["grp"], [])
            row["duration_p50_s"] = stats.percentile(values, 50)
            row["duration_p95_s"] = stats.percentile(values, 95)
    out = []
    for row in rows:
        row = {"group": row.pop("grp"), **row}
        row["success_rate"] = success_rate(row["succeeded"], row["finished"])
        for key, value in list(row.items()):
            if hasattr(value, "__float__") and not isinstance(value, int | float | bool):
                row[key] = float(value)  # PostgreSQL's numeric sums and means
        out.append(row)
    return out


def records_between(
    reader: Reader,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    finished_only: bool = True,
    limit: int | None = None,
    **filters: Any,
) -> Iterator[dict[str, Any]]:
    """Job rows (a record's columns) submitted in ``[since, until)``, oldest first, streamed.

    ``filters`` are those of ``where`` (status, tool, queue, source, labels).
    ``finished_only`` keeps finished jobs (``status.FINISHED``: cancelled ones excluded).
    """
    conditions, params = where(since=since, until=until, **filters)
    if finished_only:
        conditions.append(f"status IN ({_FINISHED_SQL})")
    sql = f"{_SELECT} {_where_sql(conditions)} ORDER BY submitted_at, id"
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = limit
    yield from reader.batches(sql, params, times=TIME_COLUMNS, json_columns=JSON_COLUMNS)
