"""Follow-up analysis tasks: a report after every job, a sweep report when a sweep ends,
insights. Each takes an id, calls ``tasks.reporting`` and returns its small JSON result."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from jobprobe.llm.registry import provider_from_settings
from jobprobe.tasks import reporting
from jobprobe.tasks.follow_up import ANALYZE_JOB
from jobprobe.tasks.retry import RetryingTask
from jobprobe.worker import runtime

ANALYZE_SWEEP = "jobprobe.analysis.analyze_sweep"
WRITE_INSIGHT = "jobprobe.analysis.write_insight"

#: Idempotent (one report per job, one per sweep's set of ended jobs): acknowledged after they
#: run, and delivered again when their worker is lost mid-way.
_SURVIVES_WORKER_LOSS: dict[str, Any] = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(name=ANALYZE_JOB, base=RetryingTask, **_SURVIVES_WORKER_LOSS)
def analyze_job(job_id: str) -> dict[str, Any]:
    """Report on a finished job; queue its sweep's analysis when it was the sweep's last job."""
    settings = runtime.current_settings()
    store = runtime.get_store(settings)
    result = reporting.analyze_job_now(store, job_id, settings.resolved_reports_dir)
    if result["sweep_ended"]:
        analyze_sweep.apply_async(args=[result["sweep_ended"]])
    return result


@shared_task(name=ANALYZE_SWEEP, base=RetryingTask, **_SURVIVES_WORKER_LOSS)
def analyze_sweep(sweep_id: str) -> dict[str, Any]:
    """Write the sweep report (once per set of ended jobs)."""
    settings = runtime.current_settings()
    store = runtime.get_store(settings)
    return reporting.analyze_sweep_now(store, sweep_id, settings.resolved_reports_dir)


@shared_task(name=WRITE_INSIGHT, base=RetryingTask, **_SURVIVES_WORKER_LOSS)
def write_insight_task(ref: str, provider: str | None = None) -> dict[str, Any]:
    """Write and store an insight for a job, sweep or ``compare:A:B``."""
    settings = runtime.current_settings()
    store = runtime.get_store(settings)
    return reporting.insight_now(store, ref, provider_from_settings(settings, provider))
