"""A job's control group: its figures (:func:`read_totals`) and a sampler (:class:`CgroupSampler`).

``paths`` name the job's group in each hierarchy, keyed by controller: ``"cpuacct"``, ``"cpu"``,
``"memory"``, ``"blkio"``, ``"pids"``, ``"freezer"`` (v1) and/or ``"unified"`` (the v2 group).
A tick reads a handful of files (about a dozen, ~12 µs each) whatever the number of processes;
the per-process view (the top processes by CPU and memory) is read only every ``top_every``
ticks, from the group's own list of processes, so its cost is bounded too.

The parsing and arithmetic are in :mod:`profiler.cgroup_files`, tested on recorded files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jobprobe.profiler import cgroup_files, errors
from jobprobe.profiler.base import Sample, Sampler, Target
from jobprobe.profiler.procfs import ProcReader, read_text

#: The files read per controller (a file a kernel lacks is simply absent from the mapping).
FILES: Mapping[str, tuple[str, ...]] = {
    "cpuacct": ("cpuacct.usage", "cpuacct.usage_user", "cpuacct.usage_sys", "cpuacct.stat"),
    "cpu": ("cpuacct.usage", "cpuacct.usage_user", "cpuacct.usage_sys", "cpuacct.stat"),
    "memory": (
        "memory.usage_in_bytes",
        "memory.max_usage_in_bytes",
        "memory.stat",
        "memory.limit_in_bytes",
        "memory.oom_control",
    ),
    "blkio": (
        "blkio.throttle.io_service_bytes",
        "blkio.throttle.io_serviced",
        "blkio.throttle.read_bps_device",
        "blkio.throttle.write_bps_device",
    ),
    "pids": ("pids.current", "pids.peak"),
    "unified": (
        "cpu.stat",
        "memory.current",
        "memory.peak",
        "memory.stat",
        "memory.max",
        "memory.events",
        "io.stat",
        "pids.current",
        "pids.peak",
    ),
}
_MB = 1024.0 * 1024.0
#: Read only where the files above leave tasks unknown (no pids controller).
_TASK_LISTS = (("memory", "tasks"), ("cpuacct", "tasks"), ("unified", "cgroup.threads"))


#: Files a tick can do without once others are there: the same figure read another way
#: (``cpu.stat`` beside ``cpuacct.usage``, ``cpuacct.stat`` beside ``usage_user``).
_REDUNDANT = {
    "unified/cpu.stat": ("cpuacct/cpuacct.usage", "cpu/cpuacct.usage"),
    "cpuacct/cpuacct.stat": ("cpuacct/cpuacct.usage_user",),
    "cpu/cpuacct.stat": ("cpu/cpuacct.usage_user",),
}


#: Files set when the group is made (limits, throttle rules): a sampler reads them once.
_STATIC = frozenset(
    {
        "memory/memory.limit_in_bytes",
        "unified/memory.max",
        "blkio/blkio.throttle.read_bps_device",
        "blkio/blkio.throttle.write_bps_device",
    }
)


def present_files(paths: Mapping[str, Path | str]) -> list[str]:
    """The known files this group has (``"<controller>/<file>"``), less those a tick does not
    need because another file gives the same figure."""
    found = [
        f"{ctl}/{name}"
        for ctl, names in FILES.items()
        if ctl in paths
        for name in names
        if os.path.exists(os.path.join(paths[ctl], name))
    ]
    have = set(found)
    if not have & {"pids/pids.current", "unified/pids.current"}:
        for ctl, name in _TASK_LISTS:  # no pids controller: count the group's task list
            if ctl in paths and os.path.exists(os.path.join(paths[ctl], name)):
                found.append(f"{ctl}/{name}")
                break
    return [f for f in found if not any(o in have for o in _REDUNDANT.get(f, ()))]


def read_files(
    paths: Mapping[str, Path | str], only: Sequence[str] | None = None
) -> dict[str, str | None]:
    """The text of every known file of the group (or of ``only``), keyed
    ``"<controller>/<file>"``."""
    out: dict[str, str | None] = {}
    if only is not None:
        for key in only:
            ctl, _, name = key.partition("/")
            out[key] = read_text(os.path.join(paths[ctl], name))
    else:
        for ctl, names in FILES.items():
            base = paths.get(ctl)
            if base is None:
                continue
            for name in names:
                out[f"{ctl}/{name}"] = read_text(os.path.join(base, name))
    if out.get("pids/pids.current") is None and out.get("unified/pids.current") is None:
        for ctl, name in _TASK_LISTS:
            base = paths.get(ctl)
            if base is not None:
                out[f"{ctl}/{name}"] = read_text(os.path.join(base, name))
    return out


#: A throttle rate no device reaches (1 TiB/s): a rule that limits nothing.
NOOP_THROTTLE_BPS = 1 << 40


def noop_throttle_rules(sys_block: str = "/sys/block") -> list[str]:
    """``"MAJ:MIN 1099511627776"`` for each whole disk: written to a new v1 blkio group's
    ``blkio.throttle.read_bps_device`` and ``write_bps_device``, they make its I/O counters
    exact and limit nothing. Recent kernels keep v1 throttle statistics for a device only once
    throttling was switched on for it (a rule set in any group, ever, since boot): before that
    every group reads "Total 0", so without a rule of its own a group's empty counters cannot
    be told from a job that did no I/O. Loop and RAM devices are left out."""
    rules = []
    try:
        names = sorted(os.listdir(sys_block))
    except FileNotFoundError:
        return []
    for name in names:
        if name.startswith(("loop", "ram", "zram")):
            continue
        dev = read_text(os.path.join(sys_block, name, "dev"))
        if dev:
            rules.append(f"{dev.strip()} {NOOP_THROTTLE_BPS}")
    return rules


def read_totals_with_reasons(
    paths: Mapping[str, Path | str],
) -> tuple[dict[str, float | int | None], dict[str, str]]:
    """The group's figures (:data:`cgroup_files.KEYS`) and, for each ``None``, why."""
    return cgroup_files.totals(read_files(paths))


def read_totals(paths: Mapping[str, Path | str]) -> dict[str, float | int | None]:
    """The group's figures now: CPU seconds, memory MB, I/O bytes and operations, tasks.

    A figure that cannot be read is ``None`` (never 0); :func:`read_totals_with_reasons` says
    why. Read it after the job's last process ended and before the group is removed.
    """
    return read_totals_with_reasons(paths)[0]


def accounting(paths: Mapping[str, Path | str]) -> str:
    """``cgroup-v1`` when any v1 controller is given, else ``cgroup-v2``."""
    return "cgroup-v1" if any(k != "unified" for k in paths) else "cgroup-v2"


def group_pids(paths: Mapping[str, Path | str]) -> list[int] | None:
    """The processes in the group now (its ``cgroup.procs``); None when no list is readable."""
    for ctl in ("pids", "memory", "cpuacct", "cpu", "unified", "freezer", "blkio"):
        base = paths.get(ctl)
        if base is None:
            continue
        text = read_text(os.path.join(base, "cgroup.procs"))
        if text is not None:
            return [int(p) for p in text.split()]
    return None


class CgroupSampler(Sampler):
    """The job's CPU, memory, block I/O and tasks from its control group, plus every
    ``top_every`` ticks the processes using the most CPU and memory."""

    name = "cgroup"
    # The job's figures keep the process-tree sampler's names (the two never run together), so
    # the store's columns, the plots and the analysis read them unchanged; memory, which the
    # group counts differently (its charge: anonymous memory and page cache), has its own.
    keys = (
        "proc_cpu_seconds",
        "proc_user_seconds",
        "proc_system_seconds",
        "proc_read_bytes",
        "proc_write_bytes",
        "proc_read_count",
        "proc_write_count",
        "proc_count",
        "proc_threads",
        "cg_tasks_peak",
        "cg_mem_current_mb",
        "cg_mem_peak_mb",
        "cg_mem_anon_mb",
        "cg_mem_cache_mb",
        "cg_mem_shmem_mb",
        "cg_oom_kills",
        "cg_top",
    )
    # No baseline: the group is the job's and counts from zero (the job's whole run, even the
    # instant before the profiler's first reading).
    counters = ()
    rates = {
        "proc_cpu_seconds": ("proc_cpu_percent", 100.0),
        "proc_read_bytes": ("proc_read_bps", 1.0),
        "proc_write_bytes": ("proc_write_bps", 1.0),
    }
    _MAP = {
        "cpu_total_seconds": "proc_cpu_seconds",
        "cpu_user_seconds": "proc_user_seconds",
        "cpu_system_seconds": "proc_system_seconds",
        "io_read_bytes": "proc_read_bytes",
        "io_write_bytes": "proc_write_bytes",
        "io_read_ops": "proc_read_count",
        "io_write_ops": "proc_write_count",
        "tasks_current": "proc_threads",
        "tasks_peak": "cg_tasks_peak",
        "memory_current_mb": "cg_mem_current_mb",
        "memory_peak_mb": "cg_mem_peak_mb",
        "memory_anon_mb": "cg_mem_anon_mb",
        "memory_cache_mb": "cg_mem_cache_mb",
        "memory_shmem_mb": "cg_mem_shmem_mb",
        "oom_kills": "cg_oom_kills",
    }

    @classmethod
    def open(cls, target: Target) -> CgroupSampler | None:
        """The group in ``target.cgroup_paths``; None when the job has no group."""
        if not target.cgroup_paths:
            return None
        return cls(target.cgroup_paths, proc_root=target.proc_root, top_every=target.top_every)

    def __init__(
        self,
        paths: Mapping[str, Path | str],
        *,
        proc_root: str = "/proc",
        top_every: int = 10,
        top_n: int = 5,
    ) -> None:
        self.paths = dict(paths)
        figures, reasons = read_totals_with_reasons(self.paths)
        if all(v is None for v in figures.values()):
            raise errors.SamplerUnavailable(
                f"no readable figure in the job's group {sorted(self.paths.items())}: "
                + "; ".join(sorted(set(reasons.values())))
            )
        #: Why a figure is null, for the profile's ``unavailable``.
        self.reasons = reasons
        self._reasons = reasons
        self.accounting = accounting(self.paths)
        self._top = TopProcesses(ProcReader(proc_root), top_n) if top_every > 0 else None
        self._top_every = top_every
        self._ticks = 0
        # The files a tick reads: those this group has (about ten), not every one a kernel
        # may; the limit and the throttle rules, set when the group is made, are read once.
        files = present_files(self.paths)
        self._static = {k: read_text(self._path(k)) for k in files if k in _STATIC}
        self._ticking = [(k, self._path(k)) for k in files if k not in _STATIC]

    def pids(self) -> list[int]:
        """The processes in the group now (for the GPU sampler's per-job memory)."""
        return group_pids(self.paths) or []

    def sample(self) -> Sample:
        """Read the group's files; on the first ticks and every ``top_every`` ticks after, the
        top processes too (the first reading primes their CPU, the second is the first view:
        a job shorter than ``top_every`` ticks still gets one)."""
        k = self._ticks
        self._ticks += 1
        top = self._top is not None and (k == 0 or (k - 1) % self._top_every == 0)
        return self._read(top)

    def final_sample(self) -> Sample:
        """The group's figures and the top processes, whatever the tick; :attr:`reasons` then
        says why the figures still null at the end are null."""
        out = self._read(self._top is not None)
        self.reasons = self._reasons
        return out

    def _path(self, key: str) -> str:
        ctl, _, name = key.partition("/")
        return os.path.join(self.paths[ctl], name)

    def _read(self, top: bool) -> Sample:
        files = dict(self._static)
        files.update((k, read_text(path)) for k, path in self._ticking)
        figures, self._reasons = cgroup_files.totals(files)
        out: Sample = {self._MAP[k]: v for k, v in figures.items() if k in self._MAP}
        # The process list (and so the count) is read with the per-process view only.
        out["proc_count"] = out["cg_top"] = None
        if top and self._top is not None:
            pids = group_pids(self.paths)
            out["proc_count"] = None if pids is None else len(pids)
            out["cg_top"] = self._top.read(pids or [])
        return out


class TopProcesses:
    """The processes of the group using the most CPU (since the previous view) and memory."""

    def __init__(self, proc: ProcReader, n: int) -> None:
        self._proc = proc
        self._n = n
        self._tick = float(os.sysconf("SC_CLK_TCK"))
        self._page = int(os.sysconf("SC_PAGE_SIZE"))
        self._prev: dict[tuple[int, int], float] = {}
        self._prev_t: float | None = None

    def read(self, pids: list[int]) -> list[dict[str, Any]]:
        """``[{pid, comm, cpu_percent, cpu_seconds, rss_mb}]``: the top ``n`` by CPU since the
        previous view (by CPU seconds on the first), then the top ``n`` by resident memory."""
        now = time.monotonic()
        dt = None if self._prev_t is None else now - self._prev_t
        rows: list[dict[str, Any]] = []
        seen: dict[tuple[int, int], float] = {}
        for pid in pids:
            st = self._proc.stat(pid)
            if st is None:
                continue
            cpu_s = (st.utime + st.stime) / self._tick
            seen[(pid, st.starttime)] = cpu_s
            before = self._prev.get((pid, st.starttime))
            percent = None if before is None or not dt else 100.0 * max(0.0, cpu_s - before) / dt
            rows.append(
                {
                    "pid": pid,
                    "comm": st.comm,
                    "cpu_percent": percent,
                    "cpu_seconds": cpu_s,
                    "rss_mb": st.rss_pages * self._page / _MB,
                }
            )
        self._prev, self._prev_t = seen, now
        by_cpu = sorted(rows, key=lambda r: (r["cpu_percent"] or 0.0, r["cpu_seconds"]))
        by_rss = sorted(rows, key=lambda r: r["rss_mb"])
        top: dict[int, dict[str, Any]] = {}
        for r in by_cpu[::-1][: self._n] + by_rss[::-1][: self._n]:
            top.setdefault(r["pid"], r)
        return list(top.values())
