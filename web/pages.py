"""The dashboard's server-rendered pages (HTML); their data comes from the JSON API.

Each page is a shell: a template that names what to show (a job id, a sweep id) in ``data-``
attributes, and a script of ``web/static/`` that fetches the records from ``/api/v1`` and
draws them. A page holds no record data, so serving it needs no token; the API it calls
decides who may read (``web.auth``). No page has an inline script: the Content-Security-Policy
allows scripts from this server only, and the scripts build the page with ``textContent``,
never ``innerHTML``, so a label or a log line cannot become markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from jobprobe import __version__
from jobprobe.store.status import JobStatus

TEMPLATES_DIR = Path(__file__).parent / "templates"
#: Scripts and styles from this server only; uPlot sets inline styles through the CSSOM.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
#: The pages of the navigation bar: path, title.
NAV: tuple[tuple[str, str], ...] = (
    ("/", "Jobs"),
    ("/sweeps", "Sweeps"),
    ("/compare", "Compare"),
    ("/usage", "Usage"),
    ("/workers", "Workers"),
)

router = APIRouter(include_in_schema=False)
_templates: list[Jinja2Templates] = []  # built on first use, not at import


def _env() -> Jinja2Templates:
    if not _templates:
        _templates.append(Jinja2Templates(directory=TEMPLATES_DIR))
    return _templates[0]


def public_url(url: str | None) -> str | None:
    """``url`` without the user name and password it may carry (Flower's basic auth)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def _page(request: Request, template: str, title: str, **context: Any) -> HTMLResponse:
    response = _env().TemplateResponse(
        request,
        template,
        {"title": title, "nav": NAV, "version": __version__, "api": "/api/v1", **context},
    )
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@router.get("/", response_class=HTMLResponse)
def jobs_page(request: Request) -> HTMLResponse:
    """The jobs table: filters, pages by cursor, refreshes by itself."""
    return _page(request, "jobs.html", "Jobs", statuses=[s.value for s in JobStatus])


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str) -> HTMLResponse:
    """One job: record, verdict, live charts, status history, log tail, report, cancel."""
    return _page(request, "job.html", f"Job {job_id[:12]}", job_id=job_id)


@router.get("/sweeps", response_class=HTMLResponse)
def sweeps_page(request: Request) -> HTMLResponse:
    """The sweeps, newest first."""
    return _page(request, "sweeps.html", "Sweeps")


@router.get("/sweeps/{sweep_id}", response_class=HTMLResponse)
def sweep_page(request: Request, sweep_id: str) -> HTMLResponse:
    """One sweep: throughput and latency curves, knee, saturation, SLO, USL fit, points."""
    return _page(request, "sweep.html", f"Sweep {sweep_id[:12]}", sweep_id=sweep_id)


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request) -> HTMLResponse:
    """Two jobs or two label groups side by side, regressions marked."""
    return _page(request, "compare.html", "Compare")


@router.get("/usage", response_class=HTMLResponse)
def usage_page(request: Request) -> HTMLResponse:
    """Usage trends, this period against the last, the drill-down by wasted GPU-hours."""
    return _page(request, "usage.html", "Usage")


@router.get("/workers", response_class=HTMLResponse)
def workers_page(request: Request) -> HTMLResponse:
    """Workers that answer, what runs where, queue lengths, a link to Flower."""
    settings = request.app.state.settings
    return _page(request, "workers.html", "Workers", flower_url=public_url(settings.flower_url))
