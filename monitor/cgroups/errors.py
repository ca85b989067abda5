"""Errors of per-job control groups."""

from __future__ import annotations

from jobprobe.monitor import errors as monitor_errors


class CgroupError(monitor_errors.MonitorError):
    """A control group could not be made, joined, emptied or removed."""


class Unavailable(CgroupError):
    """No writable control-group hierarchy here: jobs use process-tree accounting."""
