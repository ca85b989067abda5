"""Stored reports as JSON, read in plain SQL on a ``Reader`` (no SQLAlchemy: ``job-details``
lists a job's reports on the read commands' lean path)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jobprobe.store.reading import Reader

if TYPE_CHECKING:
    from jobprobe.store.models import Report


def report_dict(report: Mapping[str, Any] | Report) -> dict[str, Any]:
    """A report (its row or ORM object) as JSON, with a short text summary for listings."""
    row: Mapping[str, Any] = (
        report
        if isinstance(report, Mapping)
        else {name: getattr(report, name) for name in ("id", "kind", "created_at", "path", "body")}
    )
    body = row["body"]
    return {
        "id": row["id"],
        "kind": row["kind"],
        "created_at": row["created_at"].isoformat() if row["created_at"] else None,
        "path": row["path"],
        "summary": body.get("summary") if isinstance(body, dict) else None,
        "body": body,
    }


def _reports(reader: Reader, column: str, value: str) -> list[dict[str, Any]]:
    sql = (
        f"SELECT id, kind, created_at, path, body FROM reports WHERE {column} = :v "
        "ORDER BY created_at DESC, id DESC"
    )
    rows = reader.rows(sql, {"v": value}, times=("created_at",), json_columns=("body",))
    return [report_dict(r) for r in rows]


def reports_for_job(reader: Reader, job_id: str) -> list[dict[str, Any]]:
    """A job's reports, newest first."""
    return _reports(reader, "job_id", job_id)


def reports_for_sweep(reader: Reader, sweep_id: str) -> list[dict[str, Any]]:
    """A sweep's reports, newest first."""
    return _reports(reader, "sweep_id", sweep_id)
