"""monitor: runs a job (a process group or a container), owns its lifetime and records its outcome.

Public names: :class:`JobMonitor`, :class:`JobSpec`, :class:`JobOutcome` (in
:mod:`monitor.job_monitor`), the tool registry (:class:`Tool`, :func:`get_tool`,
:func:`load_registry`, in :mod:`monitor.tools`) and the :mod:`errors` module. They load on first
use, so that a command which only reads the tool registry does not import the profiler.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from jobprobe.monitor import errors

if TYPE_CHECKING:
    from jobprobe.monitor.job_monitor import JobMonitor, JobOutcome, JobSpec
    from jobprobe.monitor.tools import Tool, get_tool, load_registry

_HOMES = {
    "JobMonitor": "jobprobe.monitor.job_monitor",
    "JobOutcome": "jobprobe.monitor.job_monitor",
    "JobSpec": "jobprobe.monitor.job_monitor",
    "Tool": "jobprobe.monitor.tools",
    "get_tool": "jobprobe.monitor.tools",
    "load_registry": "jobprobe.monitor.tools",
}

__all__ = ["JobMonitor", "JobOutcome", "JobSpec", "Tool", "errors", "get_tool", "load_registry"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)
