"""The one Celery app. ``celery -A jobprobe.worker.app worker`` finds it as ``worker.app.app``.

The app is built on first use (module ``__getattr__``), never at import time, from the one
``Settings`` object. Embedded mode (no broker configured) runs tasks in-process (eager).
"""

from __future__ import annotations

import sys
from typing import Any

from celery import Celery, Task
from kombu import Exchange, Queue

from jobprobe.worker import errors, log_masking
from jobprobe.worker.settings import Settings, load_settings

TASK_MODULES = [
    "jobprobe.tasks.jobs",
    "jobprobe.tasks.iss",
    "jobprobe.tasks.analysis",
    "jobprobe.tasks.reconcile",
    "jobprobe.worker.disk",  # no tasks: a full data directory pauses the worker (its signals)
]
RUN_SIMULATION = "jobprobe.run_simulation"
RECONCILE = "jobprobe.reconcile"


def job_queue(settings: Settings, *, queue: str | None, gpus: int, tool_queue: str | None) -> str:
    """The queue a job goes to: ``queue`` when given, else the GPU queue when it asks for GPUs,
    else its tool's, else the CPU queue. The names ``cpu`` and ``gpu`` mean the configured
    queues; any other name is a queue of its own."""
    logical = {"cpu": settings.queue_cpu, "gpu": settings.queue_gpu}
    chosen = queue or ("gpu" if gpus > 0 else (tool_queue or "cpu"))
    return logical.get(chosen, chosen)


class JobprobeCelery(Celery):
    """Celery with the Settings it was built from."""

    settings: Settings


def create_app(settings: Settings | None = None) -> JobprobeCelery:
    """Build the Celery app for ``settings`` (default: from the environment)."""
    settings = settings or load_settings()
    # Secrets masked in every log line of a worker, beat or Flower process built on this app.
    log_masking.connect()
    app = JobprobeCelery("jobprobe", include=TASK_MODULES, set_as_current=True)
    app.settings = settings
    queues = [settings.queue_cpu, settings.queue_gpu, settings.queue_iss, settings.queue_analysis]
    conf: dict[str, Any] = {
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        # Each queue on its own direct exchange and key: a bare Queue(name) would bind every
        # queue to the default exchange and key, and one message would land in all of them.
        "task_queues": [Queue(q, Exchange(q, type="direct"), routing_key=q) for q in queues],
        "task_default_queue": settings.queue_cpu,
        "task_routes": {
            RUN_SIMULATION: {"queue": settings.queue_cpu},
            "jobprobe.iss.*": {"queue": settings.queue_iss},
            "jobprobe.analysis.*": {"queue": settings.queue_analysis},
        },
        "worker_prefetch_multiplier": 1,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "task_track_started": True,
        "result_expires": settings.result_expires,
        "broker_connection_retry_on_startup": True,
        # kombu sweeps for expired unacked messages every interval * throttle seconds (default
        # 10 * 10): scan on every sweep, and sweep more often when the timeout is short, so a
        # lost worker's job returns about visibility_timeout after the loss, not minutes later.
        "broker_transport_options": {
            "visibility_timeout": settings.resolved_visibility_timeout,
            "unacked_restore_throttle": 1,
            "unacked_restore_interval": min(
                10.0, max(1.0, settings.resolved_visibility_timeout / 2)
            ),
            # Each sweep holds a Redis lock that lives unacked_mutex_expire seconds (default
            # 300) if its holder dies: a worker SIGKILLed mid-sweep would hold back every lost
            # job's redelivery for 5 minutes. A sweep takes milliseconds.
            "unacked_mutex_expire": 10,
        },
        "result_backend_transport_options": {
            "visibility_timeout": settings.resolved_visibility_timeout
        },
        "timezone": "UTC",
        "enable_utc": True,
        "beat_schedule": {
            "iss-sync": {
                "task": "jobprobe.iss.sync_iss_jobs",
                "schedule": settings.iss_sync_interval,
            },
            "replay-spool": {"task": "jobprobe.replay_spool", "schedule": 60.0},
            # Every worker also sweeps on its own (tasks.reconcile); a sweep not taken within
            # one interval is dropped, so a busy queue does not pile them up.
            "reconcile": {
                "task": RECONCILE,
                "schedule": settings.reconcile_interval,
                "options": {"expires": settings.reconcile_interval},
            },
        },
    }
    if settings.embedded:
        conf.update(
            broker_url="memory://",
            result_backend="cache+memory://",
            task_always_eager=True,
            task_eager_propagates=True,
            task_store_eager_result=False,
        )
    else:
        conf["broker_url"] = settings.broker_url
        backend = settings.result_backend
        if backend is None and str(settings.broker_url).startswith(("redis://", "rediss://")):
            backend = settings.broker_url
        conf["result_backend"] = backend
    app.conf.update(conf)
    app.set_default()
    return app


def task(app: Celery, name: str) -> Task:
    """The registered task ``name`` (importing the task modules the app lists on first use)."""
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]


_app: JobprobeCelery | None = None


def get_app() -> JobprobeCelery:
    """The process's app, built on first use."""
    global _app
    if _app is None:
        _app = create_app()
    return _app


def __getattr__(name: str) -> Any:
    # `celery -A worker.app` looks up `worker.app.app`; build it only then.
    if name == "app":
        try:
            return get_app()
        except errors.SettingsError as exc:  # a worker, beat or Flower: one line, no traceback
            sys.stderr.write(f"error: {exc}\n")
            raise SystemExit(2) from None
    raise AttributeError(name)
