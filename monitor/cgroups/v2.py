"""A job group in the unified (v2) hierarchy: one directory, ``cgroup.kill``, ``memory.events``."""

from __future__ import annotations

import time
from pathlib import Path

from jobprobe.monitor.cgroups import base
from jobprobe.monitor.limits import Limits

CPU_PERIOD_US = 100_000


def kill_dir(path: Path, deadline: float) -> bool:
    """Empty one v2 group with ``cgroup.kill`` (kernel 5.14+), or SIGKILL its members."""
    procs = path / "cgroup.procs"
    has_kill = (path / "cgroup.kill").exists()
    while True:
        pids = base.read_pids(procs)
        if not pids:
            return True
        if has_kill and base.try_write(path / "cgroup.kill", "1") is not None:
            has_kill = False
        if not has_kill:
            base.sigkill(pids)
        if time.monotonic() >= deadline:
            return not base.read_pids(procs)
        time.sleep(0.002)


def parse_keyed(text: str) -> dict[str, int]:
    """A flat keyed file (``memory.events``, ``cpu.stat``) as integers."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


class V2Group(base.JobGroup):
    """A job group on a v2 host: the directory is ``paths["unified"]``."""

    version = "cgroup-v2"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.paths = {"unified": path}

    @property
    def path(self) -> Path:
        """The group's directory."""
        return self.paths["unified"]

    def controllers(self) -> set[str]:
        """Controllers enabled in this group (its parent's ``cgroup.subtree_control``)."""
        try:
            return set((self.path / "cgroup.controllers").read_text().split())
        except OSError:
            return set()

    def kill_all(self, timeout: float = base.DEADLINE_S) -> bool:
        return kill_dir(self.path, time.monotonic() + timeout)

    def oom_killed(self) -> int | None:
        try:
            events = parse_keyed((self.path / "memory.events").read_text())
        except OSError:
            return None
        return events.get("oom_kill")

    def apply_limits(self, limits: Limits) -> base.Applied:
        if not limits:
            return base.Applied(None)
        have = self.controllers()
        wanted = {
            "memory": (limits.mem_bytes, "memory.max", lambda v: str(v)),
            "cpu": (
                limits.cpus,
                "cpu.max",
                lambda v: f"{round(v * CPU_PERIOD_US)} {CPU_PERIOD_US}",
            ),
            "pids": (limits.max_procs, "pids.max", lambda v: str(v)),
        }
        problems: list[str] = []
        for controller, (value, name, fmt) in wanted.items():
            if value is None:
                continue
            if controller not in have:
                problems.append(f"no {controller} controller in {self.path}")
                continue
            problem = base.try_write(self.path / name, fmt(value))
            if problem:
                problems.append(problem)
        return base.Applied(not problems, "; ".join(problems) or None)
