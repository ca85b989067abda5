"""worker: the Celery app, its configuration (Settings), queues, routing and beat schedule.

``Settings`` and ``load_settings`` load on first use, so that importing a light module of this
package (``worker.locations``, ``worker.secrets``) does not build the pydantic model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobprobe.worker.settings import Settings, load_settings

__all__ = ["Settings", "load_settings"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from jobprobe.worker import settings

        return getattr(settings, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
