"""Queueing a job's analysis once its outcome is in the store (local and ISS jobs alike)."""

from __future__ import annotations

import logging

from celery import current_app

from jobprobe.tasks import broker

log = logging.getLogger(__name__)

#: The analysis task, looked up by name: importing it would load the plotting stack into
#: every job worker.
ANALYZE_JOB = "jobprobe.analysis.analyze_job"


def queue_analysis(job_id: str) -> bool:
    """Queue the job's analysis when the analysis tasks are installed; True if queued.

    A broker that is gone at this moment costs the job its automatic report, not its outcome
    (already stored): one warning line, and False.
    """
    task = current_app.tasks.get(ANALYZE_JOB)
    if task is None:
        return False
    try:
        task.apply_async(args=[job_id])
    except broker.BROKER_ERRORS as exc:
        log.warning(
            "job %s is recorded, but its analysis was not queued (broker unavailable: %s); "
            "`jobprobe report %s` writes its report",
            job_id, exc, job_id,
        )  # fmt: skip
        return False
    return True
