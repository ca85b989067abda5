"""Process-tree accounting where no control group can be made (unprivileged, locked down).

The process that launches jobs becomes a child subreaper, so a job's orphans (double-forked
daemons, children of a parent that died first) are re-parented to it rather than to init:
they stay visible as the job's, are killed with it, and their rusage is collected when they
are reaped here. What this cannot see: a process that leaves the tree before the launcher is
a subreaper, or a job's children being confused with another job run by the same process
(Celery's prefork children run one job at a time).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import time

import psutil

from jobprobe.monitor.cgroups import base
from jobprobe.monitor.limits import Limits

log = logging.getLogger(__name__)

_PR_SET_CHILD_SUBREAPER = 36


@functools.cache
def become_subreaper() -> bool:
    """Make this process a child subreaper (once); False where the kernel refuses."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0:
            return True
        log.warning("cannot become a child subreaper (errno %d): orphans of jobs escape accounting",
                    ctypes.get_errno())  # fmt: skip
    except (OSError, AttributeError) as exc:
        log.warning("cannot become a child subreaper (%s): orphans of jobs escape accounting", exc)
    return False


class ProcessTreeGroup(base.JobGroup):
    """The job's processes found by walking the tree under its root and the adopted orphans."""

    version = "process-tree"

    def __init__(self) -> None:
        super().__init__()
        self.paths = {}
        self.subreaper = become_subreaper()
        self._me = psutil.Process()
        self._before: set[int] = set()
        #: rusage (user s, system s) of adopted orphans reaped here.
        self.reaped_cpu = [0.0, 0.0]

    def attach(self, pid: int) -> None:
        # children this process already had are not the job's orphans
        self._before = {c.pid for c in self._children()}
        super().attach(pid)

    def _children(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.Error):
            return self._me.children()
        return []

    def members(self) -> list[int]:
        found: set[int] = set()
        tops = [c for c in self._children() if c.pid not in self._before or c.pid == self.root_pid]
        for top in tops:
            with contextlib.suppress(psutil.Error):
                if top.status() != psutil.STATUS_ZOMBIE:
                    found.add(top.pid)
                for child in top.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        if child.status() != psutil.STATUS_ZOMBIE:
                            found.add(child.pid)
        return sorted(found)

    def _reap_orphans(self) -> None:
        for child in self._children():
            if child.pid in self._before or child.pid == self.root_pid:
                continue
            with contextlib.suppress(ChildProcessError, OSError):
                pid, _, usage = os.wait4(child.pid, os.WNOHANG)
                if pid:
                    self.reaped_cpu[0] += usage.ru_utime
                    self.reaped_cpu[1] += usage.ru_stime

    def kill_all(self, timeout: float = base.DEADLINE_S) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            pids = self.members()
            self._reap_orphans()
            if not pids:
                return True
            base.sigkill(pids)
            if time.monotonic() >= deadline:
                return not self.members()
            time.sleep(0.002)

    def remove(self, timeout: float = base.DEADLINE_S) -> bool:
        self._reap_orphans()
        return True

    def apply_limits(self, limits: Limits) -> base.Applied:
        if not limits:
            return base.Applied(None)
        return base.Applied(
            False, "no writable control group on this worker (process-tree accounting)"
        )
