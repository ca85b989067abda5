"""Report files: a job's or a sweep's facts as ``report.md`` (plots linked relative),
``report.json`` and PNG plots, under a directory the caller gives.

The layout under a reports directory: ``<job_id>/`` for a job, ``sweep-<sweep_id>/`` for a sweep.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jobprobe.analysis import plots, report

#: Keys of a sweep's stored body that are not facts (left out of its report.json).
FILE_KEYS = ("summary", "files", "jobs_fingerprint")


def job_dir(reports_dir: Path, job_id: str) -> Path:
    """Where the job's report files go."""
    return reports_dir / job_id


def sweep_dir(reports_dir: Path, sweep_id: str) -> Path:
    """Where the sweep's report files go."""
    return reports_dir / f"sweep-{sweep_id}"


def _write(out_dir: Path, facts: Mapping[str, Any], pngs: Mapping[str, Path]) -> dict[str, str]:
    """Write report.md and report.json; returns every path, the PNGs' included."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md = report.render_markdown(facts, {name: Path(p.name) for name, p in pngs.items()})
    (out_dir / "report.md").write_text(md)
    (out_dir / "report.json").write_text(json.dumps(facts, indent=2, default=str))
    paths = {"markdown": str(out_dir / "report.md"), "json": str(out_dir / "report.json")}
    paths.update({name: str(p) for name, p in pngs.items()})
    return paths


def write_job_report(record: Mapping[str, Any], out_dir: Path) -> tuple[dict[str, Any], str]:
    """A job's facts (its record with its timeseries) written as Markdown, JSON and a resource
    PNG; returns (the body to store: facts, summary and file paths, the Markdown)."""
    facts = report.job_report(record)
    png = plots.plot_job(record, out_dir / "resources.png")
    files = _write(out_dir, facts, {"resources": png})
    markdown = (out_dir / "report.md").read_text()
    return {**facts, "summary": report.job_summary(facts), "files": files}, markdown


def write_sweep_report(facts: Mapping[str, Any], out_dir: Path) -> tuple[dict[str, Any], str]:
    """A sweep's facts (``analysis.sweep.facts``) written as Markdown, JSON and a curves PNG;
    returns (the body to store: the facts and file paths, the Markdown)."""
    png = plots.plot_sweep(facts, out_dir / "sweep.png")
    clean = {k: v for k, v in facts.items() if k not in FILE_KEYS}
    files = _write(out_dir, clean, {"curves": png})
    return {**facts, "files": files}, (out_dir / "report.md").read_text()
