"""The command line's command groups, one module each, loaded only when a command runs.

``COMMANDS`` is the registry the root group (``jobprobe.cli``) reads: command name to
``module:attribute``. Support modules: ``options`` (shared options and their parsers),
``rendering`` (JSON, tables, summaries), ``errors`` (one-line errors and exit codes),
``context`` (the settings and store of one invocation).
"""

from __future__ import annotations

_JOBS = "jobprobe.commands.jobs"
_SWEEPS = "jobprobe.commands.sweeps"
_USAGE = "jobprobe.commands.usage"
_REPORTS = "jobprobe.commands.reports"

COMMANDS: dict[str, str] = {
    # jobs: submit one, read them, stop one
    "submit": f"{_JOBS}:submit",
    "job-history": f"{_JOBS}:job_history",
    "job-details": f"{_JOBS}:job_details",
    "job-stats": f"{_JOBS}:job_stats",
    "logs": f"{_JOBS}:logs",
    "cancel": f"{_JOBS}:cancel",
    "tools": f"{_JOBS}:tools",
    # sweeps: a job per load value, and where it stops scaling
    "sweep": f"{_SWEEPS}:sweep",
    "sweep-report": f"{_SWEEPS}:sweep_report",
    # usage over time
    "trend": f"{_USAGE}:trend",
    "compare-periods": f"{_USAGE}:compare_periods",
    "drilldown": f"{_USAGE}:drilldown",
    # reports written from a job's, a sweep's or a comparison's facts
    "report": f"{_REPORTS}:report",
    "insight": f"{_REPORTS}:insight",
    "compare": f"{_REPORTS}:compare",
    # the Intel Simulation Service
    "iss": "jobprobe.commands.iss:iss",
    # the worker pool
    "workers": "jobprobe.commands.fleet:workers",
    # the web app: HTTP API, dashboard, Prometheus metrics
    "serve": "jobprobe.commands.serve:serve",
    # questions in plain language, answered from the store's figures
    "ask": "jobprobe.commands.ask:ask",
}

__all__ = ["COMMANDS"]
