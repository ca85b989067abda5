"""Follow-up analysis: a report after every job, a sweep report when a sweep ends, insights.

The tasks are thin; the plain functions below do the work and run without Celery (the CLI calls
them directly). Reports go to ``Settings.resolved_reports_dir``: ``<job_id>/`` for a job,
``sweep-<sweep_id>/`` for a sweep (``report.md``, ``report.json``, PNG plots).

A sweep report is triggered twice on purpose: in distributed mode the sweep's jobs run as a
Celery chord whose callback is ``analyze_sweep``, and every ``analyze_job`` of a sweep job queues
``analyze_sweep`` when it sees that all the sweep's jobs have ended (the fallback when the chord
cannot fire: no result backend, or a header task that raised). ``analyze_sweep`` is idempotent:
under a row lock on the sweep it writes a report only when none exists for the same set of ended
jobs (``body["jobs_fingerprint"]``), so the two triggers yield one report.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from celery import shared_task

from jobprobe.analysis import plots, regression, report, saturation
from jobprobe.llm import errors as llm_errors
from jobprobe.store import jobs as store_jobs
from jobprobe.store import records
from jobprobe.store import reports as store_reports
from jobprobe.store import samples as store_samples
from jobprobe.store import sweeps as store_sweeps
from jobprobe.store.db import Store
from jobprobe.store.models import Report, Sweep
from jobprobe.store.status import TERMINAL, JobStatus, SweepStatus
from jobprobe.tasks import errors
from jobprobe.tasks.follow_up import ANALYZE_JOB
from jobprobe.tasks.retry import RetryingTask
from jobprobe.worker import runtime
from jobprobe.worker.settings import Settings

ANALYZE_SWEEP = "jobprobe.analysis.analyze_sweep"
WRITE_INSIGHT = "jobprobe.analysis.write_insight"
FILE_KEYS = ("summary", "files", "jobs_fingerprint")


# ---------------------------------------------------------------- job reports


def job_record(store: Store, job_id: str) -> dict[str, Any]:
    """A job's record with its timeseries (what the plots need)."""
    with store.session() as session:
        job = store_jobs.get_job(session, job_id)
        series = store_samples.load_timeseries(session, job.id)
        return records.to_record(job, timeseries=series)


def job_summary(facts: Mapping[str, Any]) -> str:
    """Two short lines: the verdict and its first advice."""
    verdict = facts["verdict"]
    head = f"{verdict['kind']} (confidence {verdict['confidence']})"
    duration = facts["figures"].get("duration_s")
    if duration is not None:
        head += f", {duration} s"
    advice = verdict["advice"][0] if verdict["advice"] else None
    return head if advice is None else f"{head}\n{advice}"


def _write(out_dir: Path, facts: Mapping[str, Any], pngs: Mapping[str, Path]) -> dict[str, str]:
    """Write report.md (plots linked relative) and report.json; returns every path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md = report.render_markdown(facts, {name: Path(p.name) for name, p in pngs.items()})
    (out_dir / "report.md").write_text(md)
    (out_dir / "report.json").write_text(json.dumps(facts, indent=2, default=str))
    paths = {"markdown": str(out_dir / "report.md"), "json": str(out_dir / "report.json")}
    paths.update({name: str(p) for name, p in pngs.items()})
    return paths


def write_job_report(record: Mapping[str, Any], out_dir: Path) -> tuple[dict[str, Any], str]:
    """Facts of one job written as Markdown, JSON and a resource PNG; returns (body, markdown)."""
    facts = report.job_report(record)
    png = plots.plot_job(record, out_dir / "resources.png")
    files = _write(out_dir, facts, {"resources": png})
    markdown = (out_dir / "report.md").read_text()
    return {**facts, "summary": job_summary(facts), "files": files}, markdown


def analyze_job_now(store: Store, job_id: str, reports_dir: Path) -> dict[str, Any]:
    """Write and store the job's report, once per job; says whether its sweep (if any) has now
    ended. A job that has its report already (its analysis queued twice: a redelivery, an
    outage) keeps it: ``written`` is False and nothing is written."""
    record = job_record(store, job_id)
    full_id = str(record["task_id"])
    with store.session() as session:
        existing = store_reports.job_report(session, full_id)
        if existing is not None:
            return _report_summary(existing, written=False)
    body, markdown = write_job_report(record, reports_dir / full_id)
    with store.session() as session:
        store_jobs.get_job(session, full_id, for_update=True)  # one report writer per job
        saved = store_reports.job_report(session, full_id)
        written = saved is None
        if saved is None:
            saved = store_reports.save_report(
                session, kind="job", body=body, markdown=markdown,
                path=body["files"]["markdown"], job_id=full_id,
            )  # fmt: skip
        result = _report_summary(saved, written=written)
        sweep_id = record.get("sweep_id")
        if written and sweep_id and sweep_ended(session, str(sweep_id)):
            result["sweep_ended"] = str(sweep_id)
    return result


def _report_summary(saved: Report, *, written: bool) -> dict[str, Any]:
    body = saved.body if isinstance(saved.body, dict) else {}
    return {
        "job_id": saved.job_id,
        "report_id": saved.id,
        "verdict": (body.get("verdict") or {}).get("kind"),
        "written": written,
        "sweep_ended": None,
    }


# ---------------------------------------------------------------- sweeps


def sweep_ended(session: Any, sweep_id: str) -> bool:
    """True when every job of the sweep has ended."""
    jobs = store_sweeps.sweep_jobs(session, sweep_id)
    return bool(jobs) and all(j.status in TERMINAL for j in jobs)


def number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None


def sweep_points(sweep: Sweep, recs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One ``saturation.sweep_report`` point per successful job.

    Throughput is the metrics file's ``throughput``; without one, ``requests`` per second of
    duration; without that, runs per second of duration (1 / duration).
    """
    points: list[dict[str, Any]] = []
    seen: dict[float, int] = {}
    for rec in recs:
        value = number((rec.get("params") or {}).get(sweep.vary_name))
        if rec.get("status") != JobStatus.SUCCESS or value is None:
            continue
        metrics = rec.get("metrics") or {}
        duration = number(rec.get("duration_seconds"))
        throughput = number(metrics.get("throughput"))
        if throughput is None and duration:
            work = number(metrics.get("requests")) or 1.0
            throughput = work / duration
        seen[value] = seen.get(value, 0) + 1
        points.append(
            {
                "value": value,
                "repeat": seen[value],
                "throughput": throughput,
                "p50_ms": number(metrics.get("p50_ms")),
                "p99_ms": number(metrics.get("p99_ms")),
                "record": dict(rec),
            }
        )
    return points


def sweep_summary(facts: Mapping[str, Any]) -> str:
    """Short lines: saturation point, latency knee, USL peak, saturating resource."""

    def knee(name: str, k: Mapping[str, Any] | None) -> str:
        if k and k.get("found"):
            return f"{name} at {facts['vary']}={k['x']:g}"
        return f"{name}: none ({(k or {}).get('reason')})"

    lines = [
        f"{knee('throughput saturates', facts.get('throughput_knee'))}; "
        f"{knee('p99 knee', facts.get('latency_knee'))}"
    ]
    usl = facts.get("usl") or {}
    if usl.get("ok"):
        peak = usl.get("peak_n")
        lines.append(
            f"USL sigma {usl['sigma']:g} kappa {usl['kappa']:g} (R2 {usl['r2']:g})"
            + (f", peak at {facts['vary']}={peak:.3g}" if peak is not None else ", no peak")
        )
    sat = facts.get("saturation") or {}
    if sat.get("resource"):
        lines.append(f"saturating resource: {sat['resource']} ({sat.get('verdict')})")
    return "\n".join(lines)


def sweep_analysis(session: Any, sweep: Sweep) -> dict[str, Any]:
    """The sweep's facts from its stored jobs (works while it still runs)."""
    jobs = store_sweeps.sweep_jobs(session, sweep.id)
    recs = [records.to_record(j) for j in jobs]
    result = saturation.sweep_report(sweep_points(sweep, recs), slo_p99=sweep.slo_p99_ms)
    facts = report.sweep_facts(result)
    ended = [r for r in recs if r["status"] in TERMINAL]
    facts.update(
        sweep_id=sweep.id,
        tool=sweep.tool,
        script=sweep.script_name,
        vary=sweep.vary_name,
        values=sweep.vary_values,
        repeat=sweep.repeat,
        sweep_status=sweep.status,
        jobs={
            "total": len(recs),
            "ended": len(ended),
            "succeeded": sum(r["status"] == JobStatus.SUCCESS for r in recs),
            "failed": [r["task_id"] for r in ended if r["status"] != JobStatus.SUCCESS],
        },
    )
    fingerprint = "\n".join(sorted(f"{r['task_id']}:{r['status']}" for r in ended))
    facts["jobs_fingerprint"] = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    facts["summary"] = sweep_summary(facts)
    return facts


def write_sweep_report(facts: dict[str, Any], out_dir: Path) -> tuple[dict[str, Any], str]:
    """Write a sweep's Markdown, JSON and curves PNG; returns (body, markdown)."""
    png = plots.plot_sweep(facts, out_dir / "sweep.png")
    clean = {k: v for k, v in facts.items() if k not in FILE_KEYS}
    files = _write(out_dir, clean, {"curves": png})
    return {**facts, "files": files}, (out_dir / "report.md").read_text()


def analyze_sweep_now(store: Store, sweep_id: str, reports_dir: Path) -> dict[str, Any]:
    """Write and store the sweep report once its jobs have ended (idempotent, see module doc)."""
    with store.session() as session:
        sweep = store_sweeps.get_sweep(session, sweep_id, for_update=True)
        if not sweep_ended(session, sweep.id):
            return {"sweep_id": sweep.id, "written": False, "reason": "jobs still running"}
        facts = sweep_analysis(session, sweep)
        if store_sweeps.current_report(session, sweep.id, facts["jobs_fingerprint"]) is not None:
            return {"sweep_id": sweep.id, "written": False, "reason": "already reported"}
        body, markdown = write_sweep_report(facts, reports_dir / f"sweep-{sweep.id}")
        saved = store_reports.save_report(
            session,
            kind="sweep",
            body=body,
            markdown=markdown,
            path=body["files"]["markdown"],
            sweep_id=sweep.id,
        )
        done = SweepStatus.DONE if facts["jobs"]["succeeded"] else SweepStatus.FAILED
        store_sweeps.mark_sweep_status(session, sweep.id, done)
        return {"sweep_id": sweep.id, "written": True, "report_id": saved.id}


# ---------------------------------------------------------------- comparisons and insights


def comparison(
    store: Store,
    baseline_ids: Sequence[str],
    candidate_ids: Sequence[str],
    *,
    thresholds: regression.Thresholds | None = None,
) -> dict[str, Any]:
    """Comparison facts of two sets of jobs (ids or unique prefixes)."""
    with store.session() as session:
        base = [records.to_record(store_jobs.get_job(session, i)) for i in baseline_ids]
        cand = [records.to_record(store_jobs.get_job(session, i)) for i in candidate_ids]
    facts = report.comparison_facts(regression.compare(base, cand, thresholds=thresholds))
    facts["baseline_ids"] = [r["task_id"] for r in base]
    facts["candidate_ids"] = [r["task_id"] for r in cand]
    return facts


def subject_facts(store: Store, ref: str) -> tuple[dict[str, Any], str | None, str | None]:
    """Facts for ``ref``: a job id, a sweep id or ``compare:A:B``; with (job_id, sweep_id)."""
    if ref.startswith("compare:"):
        parts = ref.split(":")
        if len(parts) != 3 or not all(parts[1:]):
            raise errors.SubmitError(f"write a comparison as compare:JOB_A:JOB_B (got {ref!r})")
        facts = comparison(store, [parts[1]], [parts[2]])
        return facts, facts["candidate_ids"][0], None
    with store.session() as session:
        sweep = store_sweeps.find_sweep(session, ref)
        if sweep is not None and not _is_job(session, ref):
            facts = sweep_analysis(session, sweep)
            return {k: v for k, v in facts.items() if k not in FILE_KEYS}, None, sweep.id
    record = job_record(store, ref)
    return report.job_report(record), str(record["task_id"]), None


def _is_job(session: Any, ref: str) -> bool:
    from jobprobe.store import errors as store_errors

    try:
        store_jobs.get_job(session, ref)
    except store_errors.JobNotFound:
        return False
    return True


def provider_from_settings(settings: Settings, name: str | None = None) -> Any:
    """The insight provider ``name`` (default ``Settings.llm_provider``) configured from Settings."""
    from jobprobe.llm import make_provider

    name = name or settings.llm_provider
    if name == "none":
        return make_provider("none")
    if name == "openai":
        if not settings.llm_base_url or not settings.llm_model:
            raise llm_errors.LlmResponseError(
                "openai provider needs JOBPROBE_LLM_BASE_URL (…/v1) and JOBPROBE_LLM_MODEL"
            )
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return make_provider(
            "openai",
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=key,
            timeout_s=settings.llm_timeout,
        )
    if name == "bedrock":
        if not settings.llm_model:
            raise llm_errors.LlmResponseError(
                "bedrock provider needs JOBPROBE_LLM_MODEL (model id)"
            )
        return make_provider(
            "bedrock",
            model_id=settings.llm_model,
            region=settings.llm_region or "us-east-1",
            endpoint_url=settings.llm_endpoint_url,
            read_timeout_s=settings.llm_timeout,
        )
    return make_provider(name)  # raises UnknownProvider with the choices


def insight_now(store: Store, ref: str, provider: Any) -> dict[str, Any]:
    """Write an insight for ``ref`` with ``provider``, store it (kind ``insight``), return it."""
    from jobprobe.llm import write_insight

    facts, job_id, sweep_id = subject_facts(store, ref)
    try:
        insight = write_insight(facts, provider)
    except llm_errors.LlmError as exc:
        raise type(exc)(f"{provider.name} provider: {exc}") from exc
    verified = "yes" if insight.verified else "no"
    summary = f"{insight.provider}/{insight.model}: verified {verified}"
    if insight.unsupported_numbers:
        summary += f" (unsupported: {', '.join(insight.unsupported_numbers)})"
    body = {**insight.to_dict(), "subject": facts.get("subject"), "ref": ref, "summary": summary}
    with store.session() as session:
        saved = store_reports.save_report(
            session,
            kind="insight",
            body=body,
            markdown=insight.text,
            job_id=job_id,
            sweep_id=sweep_id,
        )
        body["report_id"] = saved.id
    return body


# ---------------------------------------------------------------- tasks


@shared_task(name=ANALYZE_JOB, base=RetryingTask)
def analyze_job(job_id: str) -> dict[str, Any]:
    """Report on a finished job; queue its sweep's analysis when it was the sweep's last job."""
    settings = runtime.current_settings()
    result = analyze_job_now(runtime.get_store(settings), job_id, settings.resolved_reports_dir)
    if result["sweep_ended"]:
        analyze_sweep.apply_async(args=[result["sweep_ended"]])
    return result


@shared_task(name=ANALYZE_SWEEP, base=RetryingTask)
def analyze_sweep(sweep_id: str) -> dict[str, Any]:
    """Write the sweep report (once per set of ended jobs)."""
    settings = runtime.current_settings()
    return analyze_sweep_now(runtime.get_store(settings), sweep_id, settings.resolved_reports_dir)


@shared_task(name=WRITE_INSIGHT, base=RetryingTask)
def write_insight_task(ref: str, provider: str | None = None) -> dict[str, Any]:
    """Write and store an insight for a job, sweep or ``compare:A:B``."""
    settings = runtime.current_settings()
    return insight_now(runtime.get_store(settings), ref, provider_from_settings(settings, provider))
