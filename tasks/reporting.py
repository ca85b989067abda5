"""Reports and insights: the plain functions behind the analysis tasks and the report commands.

Each reads from ``store``, computes with ``analysis`` (or ``llm``), writes files where
``analysis.report_files`` puts them and stores the result: calls only, no Celery. Reports go
under a reports directory (``Settings.resolved_reports_dir``): ``<job_id>/`` for a job,
``sweep-<sweep_id>/`` for a sweep.

A sweep report is asked for twice on purpose: in distributed mode the sweep's jobs run as a
Celery chord whose callback analyses the sweep, and the analysis of each job of a sweep queues
the sweep's when it sees that all the sweep's jobs have ended (the fallback when the chord
cannot fire: no result backend, or a header task that raised). ``analyze_sweep_now`` is
idempotent: under a row lock on the sweep it writes a report only when none exists for the same
set of ended jobs (``body["jobs_fingerprint"]``), so the two triggers yield one report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jobprobe.analysis import report, report_files
from jobprobe.analysis import sweep as sweep_analysis
from jobprobe.llm import errors as llm_errors
from jobprobe.llm.base import Provider
from jobprobe.queries import comparison as query_comparison
from jobprobe.queries import sweeps as query_sweeps
from jobprobe.store import jobs as store_jobs
from jobprobe.store import records
from jobprobe.store import reports as store_reports
from jobprobe.store import sweeps as store_sweeps
from jobprobe.store.db import Store
from jobprobe.store.models import Report
from jobprobe.tasks import errors


def analyze_job_now(store: Store, job_id: str, reports_dir: Path) -> dict[str, Any]:
    """Write and store the job's report, once per job; says whether its sweep (if any) has now
    ended. A job that has its report already (its analysis queued twice: a redelivery, an
    outage) keeps it: ``written`` is False and nothing is written."""
    with store.session() as session:
        record = records.load_record(session, job_id, timeseries=True)
        existing = store_reports.job_report(session, record["task_id"])
    full_id = str(record["task_id"])
    if existing is not None:
        return _job_result(existing, written=False)
    out_dir = report_files.job_dir(reports_dir, full_id)
    body, markdown = report_files.write_job_report(record, out_dir)
    with store.session() as session:
        saved, written = store_reports.save_job_report(
            session, full_id, body=body, markdown=markdown, path=body["files"]["markdown"]
        )
        result = _job_result(saved, written=written)
        sweep_id = record.get("sweep_id")
        if written and sweep_id and store_sweeps.all_ended(session, str(sweep_id)):
            result["sweep_ended"] = str(sweep_id)
    return result


def _job_result(saved: Report, *, written: bool) -> dict[str, Any]:
    body = saved.body if isinstance(saved.body, dict) else {}
    return {
        "job_id": saved.job_id,
        "report_id": saved.id,
        "verdict": (body.get("verdict") or {}).get("kind"),
        "written": written,
        "sweep_ended": None,
    }


def analyze_sweep_now(store: Store, sweep_id: str, reports_dir: Path) -> dict[str, Any]:
    """Write and store the sweep report once its jobs have ended (idempotent, see module doc)."""
    with store.session() as session:
        sweep = store_sweeps.get_sweep(session, sweep_id, for_update=True)
        if not store_sweeps.all_ended(session, sweep.id):
            return {"sweep_id": sweep.id, "written": False, "reason": "jobs still running"}
        # Which jobs ended, and how, names the report: when it exists the analysis (the fits,
        # the plot) is not run again, so the chain's last link and a job's follow-up that both
        # see the sweep end cost one analysis.
        recs = store_sweeps.sweep_records(session, sweep.id)
        if store_sweeps.current_report(
            session, sweep.id, sweep_analysis.fingerprint(recs)
        ) is not None:  # fmt: skip
            return {"sweep_id": sweep.id, "written": False, "reason": "already reported"}
        facts = sweep_analysis.facts(records.sweep_record(sweep), recs)
        out_dir = report_files.sweep_dir(reports_dir, sweep.id)
        body, markdown = report_files.write_sweep_report(facts, out_dir)
        saved = store_reports.save_report(
            session, kind="sweep", body=body, markdown=markdown, path=body["files"]["markdown"],
            sweep_id=sweep.id,
        )  # fmt: skip
        store_sweeps.mark_sweep_status(session, sweep.id, sweep_analysis.final_status(facts))
        return {"sweep_id": sweep.id, "written": True, "report_id": saved.id}


def subject_facts(store: Store, ref: str) -> tuple[dict[str, Any], str | None, str | None]:
    """Facts for ``ref``: a job id, a sweep id or ``compare:A:B``; with (job_id, sweep_id)."""
    if ref.startswith("compare:"):
        parts = ref.split(":")
        if len(parts) != 3 or not all(parts[1:]):
            raise errors.SubmitError(f"write a comparison as compare:JOB_A:JOB_B (got {ref!r})")
        facts = query_comparison.compare_jobs(store, [parts[1]], [parts[2]])
        return facts, facts["candidate_ids"][0], None
    with store.session() as session:
        sweep = store_sweeps.find_sweep(session, ref)
        if sweep is not None and store_jobs.find_job(session, ref) is None:
            facts = query_sweeps.sweep_facts(session, sweep)
            clean = {k: v for k, v in facts.items() if k not in report_files.FILE_KEYS}
            return clean, None, sweep.id
        record = records.load_record(session, ref, timeseries=True)
    return report.job_report(record), str(record["task_id"]), None


def insight_now(store: Store, ref: str, provider: Provider) -> dict[str, Any]:
    """Write an insight for ``ref`` with ``provider``, store it (kind ``insight``), return it."""
    from jobprobe.llm import write_insight

    facts, job_id, sweep_id = subject_facts(store, ref)
    try:
        insight = write_insight(facts, provider)
    except llm_errors.LlmError as exc:
        raise type(exc)(f"{provider.name} provider: {exc}") from exc
    body = {**insight.to_dict(), "subject": facts.get("subject"), "ref": ref,
            "summary": insight.summary()}  # fmt: skip
    with store.session() as session:
        saved = store_reports.save_report(
            session, kind="insight", body=body, markdown=insight.text, job_id=job_id,
            sweep_id=sweep_id,
        )  # fmt: skip
        body["report_id"] = saved.id
    return body


def write_report(store: Store, ref: str, reports_dir: Path) -> dict[str, Any]:
    """Write the report files of a sweep or a job (``ref``: an id or unique prefix, a sweep
    first) under ``reports_dir``, without storing them; returns ``kind``, ``id``, ``files``
    and ``summary``."""
    with store.session() as session:
        sweep = store_sweeps.find_sweep(session, ref)
        if sweep is not None:
            facts = query_sweeps.sweep_facts(session, sweep)
        else:
            record = records.load_record(session, ref, timeseries=True)
    if sweep is not None:
        out_dir = report_files.sweep_dir(reports_dir, sweep.id)
        body, _ = report_files.write_sweep_report(facts, out_dir)
        kind, full_id = "sweep", sweep.id
    else:
        full_id = str(record["task_id"])
        body, _ = report_files.write_job_report(record, report_files.job_dir(reports_dir, full_id))
        kind = "job"
    return {"kind": kind, "id": full_id, "files": body["files"], "summary": body["summary"]}
