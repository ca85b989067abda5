"""Shared by the control-group tests: a parent group of the test's own, cleaned up afterwards,
and the kernel's truth about processes (alive or not, self-reported CPU)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jobprobe.monitor import cgroups
from jobprobe.monitor.tools import load_registry
from tests import services

TOOLS = load_registry()


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in {"Z", "X"}


def pids_in(path: Path) -> list[int]:
    """Pids written one per line (by the test jobs) into the files under ``path``."""
    found = []
    for file in sorted(path.glob("pid-*")):
        with contextlib.suppress(ValueError):
            found.append(int(file.read_text().split()[0]))
    return found


def self_reported_cpu(path: Path) -> float:
    """Sum of the ``cpu-*.json`` files the test jobs' processes wrote: each its own getrusage."""
    total = 0.0
    for file in path.glob("cpu-*.json"):
        data = json.loads(file.read_text())
        total += data["user"] + data["system"]
    return total


def kill_leftovers(pids: list[int]) -> None:
    """Never leave a test's process behind, even when the test failed."""
    for pid in pids:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def test_parent(tag: str) -> Iterator[cgroups.Cgroups]:
    """Job groups beneath a parent of this test process's own (``jobprobe-test-<tag>-<pid>``),
    removed afterwards. Fails under CI and skips elsewhere where no group can be made."""
    name = f"jobprobe-mtest-{tag}-{os.getpid()}"
    manager = cgroups.Cgroups(name)
    probe = manager.create("probe", 0)
    if probe.version == "process-tree":
        services.unavailable("no writable control-group hierarchy here (run as root on Linux)")
    probe.remove()
    try:
        yield manager
    finally:
        manager.cleanup_stale()
        for hierarchy in manager.hierarchies:
            parent = manager.parent_dir(hierarchy)
            if parent is not None:
                for child in [p for p in parent.glob("job-*") if p.is_dir()]:
                    cgroups.V1Group({"x": child}).kill_all()
                    with contextlib.suppress(OSError):
                        child.rmdir()
                with contextlib.suppress(OSError):
                    parent.rmdir()


def job_dirs(manager: cgroups.Cgroups) -> list[Path]:
    """Job group directories now under the test's parent, in every hierarchy."""
    out: list[Path] = []
    for hierarchy in manager.hierarchies:
        parent = manager.parent_dir(hierarchy)
        if parent is not None and parent.is_dir():
            out += [p for p in parent.glob("job-*") if p.is_dir()]
    return out


def wait_for_files(path: Path, pattern: str, count: int, timeout: float = 20.0) -> list[Path]:
    """The files matching ``pattern`` once there are ``count`` of them (deadline ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        found = sorted(path.glob(pattern))
        if len(found) >= count or time.monotonic() >= deadline:
            return found
        time.sleep(0.02)


# A Python helper the jobs run: burn CPU for ``secs`` of its own CPU time, then write its own
# getrusage to cpu-<pid>.json (the kernel's figure for that process).
BURN = """
import json, os, resource, sys, time
def burn(secs):
    t = time.process_time()
    while time.process_time() - t < secs:
        pass
def report(tag=''):
    ru = resource.getrusage(resource.RUSAGE_SELF)
    with open(f'cpu-{tag}{os.getpid()}.json', 'w') as fh:
        json.dump({'user': ru.ru_utime, 'system': ru.ru_stime}, fh)
def mark(name):
    with open(f'{name}-{os.getpid()}', 'w') as fh:
        fh.write(str(os.getpid()))
"""


def py_spec(script: str, **kwargs: Any) -> Any:
    """A JobSpec running ``BURN`` + ``script`` with the bundled python tool."""
    from jobprobe.monitor import JobSpec

    kwargs.setdefault("timeout_s", 60.0)
    kwargs.setdefault("job_id", "c" * 32)
    return JobSpec(tool=TOOLS["python"], script_name="job.py", script_content=BURN + script,
                   **kwargs)  # fmt: skip
