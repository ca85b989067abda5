"""A job group across the v1 hierarchies (and, on hybrid hosts, the v2 one beside them)."""

from __future__ import annotations

import functools
import time
from pathlib import Path

from jobprobe.monitor.cgroups import base, v2
from jobprobe.monitor.limits import Limits
from jobprobe.profiler import cgroup as profiler_cgroup

CFS_PERIOD_US = 100_000


@functools.cache
def _noop_throttle_rules() -> tuple[str, ...]:
    return tuple(profiler_cgroup.noop_throttle_rules())


def parse_oom_control(text: str) -> int | None:
    """``oom_kill N`` of ``memory.oom_control`` (kernel 4.13+), None when absent."""
    return v2.parse_keyed(text).get("oom_kill")


class V1Group(base.JobGroup):
    """One directory per v1 controller; ``paths["unified"]`` too on a hybrid host.

    On a hybrid host the v2 group holds the same processes and its ``cgroup.kill`` ends
    them all at once; otherwise the ``freezer`` keeps them from forking while each is killed.
    """

    version = "cgroup-v1"

    def __init__(self, paths: dict[str, Path]) -> None:
        super().__init__()
        self.paths = dict(paths)

    def _freeze(self, state: str, deadline: float) -> bool:
        freezer = self.paths.get("freezer")
        if freezer is None or base.try_write(freezer / "freezer.state", state) is not None:
            return False
        while time.monotonic() < deadline:
            try:
                if (freezer / "freezer.state").read_text().strip() == state:
                    return True
            except OSError:
                return False
            time.sleep(0.001)
        return False

    def kill_all(self, timeout: float = base.DEADLINE_S) -> bool:
        deadline = time.monotonic() + timeout
        unified = self.paths.get("unified")
        if unified is not None and (unified / "cgroup.kill").exists():
            v2.kill_dir(unified, deadline)
        while True:
            pids = self.members()
            if not pids:
                return True
            frozen = self._freeze("FROZEN", min(deadline, time.monotonic() + 0.5))
            base.sigkill(pids)
            if frozen:
                self._freeze("THAWED", deadline)
            if time.monotonic() >= deadline:
                return not self.members()
            time.sleep(0.002)

    def count_block_io(self) -> str | None:
        """Give the blkio group a throttle rule per disk that limits nothing, so that its I/O
        counters count (see ``profiler.cgroup.noop_throttle_rules``); the problem, if any."""
        blkio = self.paths.get("blkio")
        if blkio is None:
            return None
        for rule in _noop_throttle_rules():
            for name in ("blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device"):
                problem = base.try_write(blkio / name, rule)
                if problem:
                    return problem
        return None

    def oom_killed(self) -> int | None:
        memory = self.paths.get("memory")
        if memory is None:
            return None
        try:
            return parse_oom_control((memory / "memory.oom_control").read_text())
        except OSError:
            return None

    def apply_limits(self, limits: Limits) -> base.Applied:
        if not limits:
            return base.Applied(None)
        problems: list[str] = []

        def put(controller: str, values: list[tuple[str, str]]) -> None:
            path = self.paths.get(controller)
            if path is None:
                problems.append(f"no {controller} controller (v1) mounted for this worker")
                return
            for name, value in values:
                problem = base.try_write(path / name, value)
                if problem:
                    problems.append(problem)
                    return

        if limits.mem_bytes is not None:
            put("memory", [("memory.limit_in_bytes", str(limits.mem_bytes))])
        if limits.cpus is not None:
            quota = str(round(limits.cpus * CFS_PERIOD_US))
            put("cpu", [("cpu.cfs_period_us", str(CFS_PERIOD_US)), ("cpu.cfs_quota_us", quota)])
        if limits.max_procs is not None:
            put("pids", [("pids.max", str(limits.max_procs))])
        return base.Applied(not problems, "; ".join(problems) or None)
