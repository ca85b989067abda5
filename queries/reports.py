"""Stored reports (a job's, a sweep's, an insight) by their id, and the files a report lists
(its PNG plots), where this machine can read them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobprobe.queries import errors

if TYPE_CHECKING:
    from jobprobe.store.db import Store

#: The file kinds a report's plot may be served as.
PLOT_SUFFIXES = (".png",)


def report(store: Store, report_id: int) -> dict[str, Any]:
    """The report's record (``id``, ``kind``, ``created_at``, ``path``, ``summary``, ``body``)
    with its ``markdown``, ``job_id`` and ``sweep_id``; ``NotFound`` for an unknown id."""
    from jobprobe.store import report_reads
    from jobprobe.store.models import Report

    with store.session() as session:
        found = session.get(Report, report_id)
        if found is None:
            raise errors.NotFound(f"no report {report_id}; a job's reports are in its details")
        return {
            **report_reads.report_dict(found), "markdown": found.markdown,
            "job_id": found.job_id, "sweep_id": found.sweep_id,
        }  # fmt: skip


def plot_names(rec: dict[str, Any]) -> list[str]:
    """The names of the PNG files a report lists (``resources``, ``curves``, ...)."""
    files = (rec.get("body") or {}).get("files") or {}
    return sorted(
        name for name, path in files.items()
        if isinstance(path, str) and path.lower().endswith(PLOT_SUFFIXES)
    )  # fmt: skip


def plot_file(store: Store, report_id: int, name: str) -> Path:
    """The PNG file ``name`` of the report, on this machine; ``NotFound`` when the report lists
    no such plot or its file is not here (written on the worker that ran the analysis)."""
    rec = report(store, report_id)
    names = plot_names(rec)
    if name not in names:
        listed = ", ".join(names) or "none"
        raise errors.NotFound(f"report {report_id} has no plot {name!r} (its plots: {listed})")
    path = Path(rec["body"]["files"][name])
    if not path.is_file():
        raise errors.NotFound(
            f"the plot {name!r} of report {report_id} is not on this machine ({path}); it is on "
            "the worker that wrote the report, or was removed"
        )
    return path
