"""worker: the Celery app, its configuration (Settings), queues, routing and beat schedule."""

from __future__ import annotations

from jobprobe.worker.settings import Settings, load_settings

__all__ = ["Settings", "load_settings"]
