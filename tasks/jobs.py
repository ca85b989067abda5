"""Celery tasks that run jobs. Thin: ids in, small JSON out; the work is in monitor/ and store/."""

from __future__ import annotations

import socket
from typing import Any

from celery import Task, shared_task, signals

from jobprobe.monitor import cgroups, recorder
from jobprobe.tasks.follow_up import queue_analysis
from jobprobe.tasks.retry import RetryingTask
from jobprobe.worker import runtime
from jobprobe.worker.app import RUN_SIMULATION


@shared_task(
    name=RUN_SIMULATION,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    # The store keeps the job's status and outcome (tasks.wait and the CLI read it there); a
    # copy in the result backend would cost two Redis writes per job (started, done) that
    # nothing reads. Flower still shows each job task's state and result from the events.
    ignore_result=True,
    # The store down when the job is claimed: nothing ran yet, so it is retried (the table in
    # tasks.retry). Outages later in a job never reach here: samples wait, the outcome is spooled.
    base=RetryingTask,
)
def run_simulation(self: Task, job_id: str) -> dict[str, Any]:
    """Run stored job ``job_id`` inside a JobMonitor and record it; then queue its analysis."""
    settings = runtime.current_settings()
    store = runtime.get_store(settings)
    worker = self.request.hostname or socket.gethostname()
    result = recorder.run_recorded(
        store,
        runtime.get_spool(settings),
        job_id,
        worker=str(worker),
        data_dir=settings.data_dir,
        tools_file=settings.resolved_tools_file,
        max_attempts=settings.max_attempts,
        sample_interval=settings.sample_interval,
        flush_seconds=settings.sample_flush_seconds,
        kill_grace=settings.kill_grace,
        default_timeout=settings.default_timeout,
        docker_base_url=settings.docker_host,
        on_replayed=queue_analysis,
        cgroup_parent=settings.cgroup_parent,
        lease_seconds=settings.lease_seconds,
        job_user=settings.resolved_job_user,
        own_uids=settings.job_uid_range,
    )
    # A spooled outcome is not in the store yet: its analysis is queued when it is replayed.
    if result.get("unreported"):
        queue_analysis(job_id)
    return result


@shared_task(name="jobprobe.replay_spool", base=RetryingTask)
def replay_spool() -> int:
    """Write outcomes spooled while the database was down (beat runs this every minute)."""
    settings = runtime.current_settings()
    store, spool = runtime.get_store(settings), runtime.get_spool(settings)
    return recorder.replay_spool(store, spool, on_replayed=queue_analysis)


@signals.worker_ready.connect
def remove_stale_job_groups(**_: Any) -> None:
    """A (re)started worker kills and removes the job groups a dead predecessor left."""
    cgroups.Cgroups(runtime.current_settings().cgroup_parent).cleanup_stale()
