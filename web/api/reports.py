"""Stored reports and their PNG plots (``queries.reports``); an insight written on request
(``jobprobe insight``: it is stored, so it needs the write token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse

from jobprobe.web import auth
from jobprobe.web.deps import SettingsDep, StoreDep

router = APIRouter(tags=["reports"])


@router.get("/reports/{report_id}")
def report(store: StoreDep, report_id: int) -> dict[str, Any]:
    """A stored report: ``id``, ``kind``, ``created_at``, ``summary``, ``body`` (its facts and
    files), ``markdown``, ``job_id``, ``sweep_id``, and ``plots`` (names under /plots/)."""
    from jobprobe.queries import reports

    rec = reports.report(store, report_id)
    return {**rec, "plots": reports.plot_names(rec)}


@router.get("/reports/{report_id}/plots/{name}", response_class=FileResponse)
def report_plot(store: StoreDep, report_id: int, name: str) -> FileResponse:
    """One of the report's PNG plots (``resources`` of a job, ``curves`` of a sweep), where
    this server can read the file."""
    from jobprobe.queries import reports

    return FileResponse(reports.plot_file(store, report_id, name), media_type="image/png")


@router.post("/insight/{ref}", dependencies=[Depends(auth.require_write)])
def insight(store: StoreDep, settings: SettingsDep, ref: str) -> dict[str, Any]:
    """Explain a job, a sweep or ``compare:A:B`` in prose with the configured provider
    (``insight --json``); the insight is stored with the job's or sweep's reports."""
    from jobprobe.llm.registry import provider_from_settings
    from jobprobe.tasks import reporting

    return reporting.insight_now(store, ref, provider_from_settings(settings))
