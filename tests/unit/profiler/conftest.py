"""Helpers for profiler tests that run real workloads."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from jobprobe.profiler import ResourceProfiler


def spawn(code: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start ``python -c code`` as the root of a workload."""
    return subprocess.Popen([sys.executable, "-c", code], **kwargs)


def run_profiled(
    code: str, *, interval: float = 0.5, timeout: float = 60.0, **profiler_kwargs: Any
) -> tuple[dict[str, Any], os.struct_rusage | Any, float]:
    """Run a workload under a profiler the way a JobMonitor does.

    Wait for the root to exit without reaping it, stop the profiler (its final sample reads the
    zombie's final counters), then reap with ``os.wait4``. Returns (profile, rusage, stop_s).
    """
    import time

    proc = spawn(code)
    profiler = ResourceProfiler(interval, gpu=False, **profiler_kwargs)
    profiler.start_profiling(pid=proc.pid)
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    t = time.monotonic()
    profile = profiler.stop_profiling()
    stop_s = time.monotonic() - t
    _, status, rusage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from reaping again
    assert proc.returncode == 0
    return profile, rusage, stop_s


@pytest.fixture
def reaped() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test started; killed and reaped at the end if still there."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        if p.returncode is None:
            p.kill()
            p.wait()
