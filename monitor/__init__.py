"""monitor: runs a job (a process group or a container), owns its lifetime and records its outcome."""

from __future__ import annotations

from jobprobe.monitor import errors
from jobprobe.monitor.job_monitor import JobMonitor, JobOutcome, JobSpec
from jobprobe.monitor.tools import Tool, get_tool, load_registry

__all__ = ["JobMonitor", "JobOutcome", "JobSpec", "Tool", "errors", "get_tool", "load_registry"]
