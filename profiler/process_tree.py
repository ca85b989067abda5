"""The job's process tree: exact CPU seconds and I/O, RSS, threads, context switches.

Exact totals: a live process's ``utime+stime`` plus ``cutime+cstime`` (its reaped children) and its
``/proc/<pid>/io`` (which also absorbs reaped children's I/O) sum without double counting over the
live tree. A process that vanished between two samples keeps its last-seen counters unless its
nearest live ancestor's counters grew by at least as much (it was reaped inside the tree, and the
ancestor now carries its exact final value); otherwise (reaped outside the tree: the root reaped by
the caller, an orphan reaped by init) its last reading is kept. Totals are monotone.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from jobprobe.profiler import errors
from jobprobe.profiler.base import Sample, Sampler, Target
from jobprobe.profiler.procfs import ProcReader, ProcStat

log = logging.getLogger(__name__)

_MB = 1024.0 * 1024.0

#: The cumulative counters tracked per process, in this order.
COUNTERS = (
    "user_s",
    "system_s",
    "read_bytes",
    "write_bytes",
    "read_count",
    "write_count",
    "rchar",
    "wchar",
)
_IO_FIELDS = ("read_bytes", "write_bytes", "syscr", "syscw", "rchar", "wchar")
_ZERO = (0.0,) * len(COUNTERS)


@dataclass(frozen=True, slots=True)
class ProcReading:
    """One process at one tick."""

    pid: int
    starttime: int
    ppid: int
    state: str
    counters: tuple[float, ...]  # in COUNTERS order, each including reaped children
    rss_bytes: int
    hwm_kb: int | None
    threads: int
    ctx_switches: int | None


class TreeTotals:
    """Monotone exact totals over a changing set of processes (pure; no I/O)."""

    def __init__(self) -> None:
        self._prev: dict[int, ProcReading] = {}
        self._lost = [0.0] * len(COUNTERS)

    @property
    def previous(self) -> dict[int, ProcReading]:
        """The readings of the last update, by pid."""
        return self._prev

    def update(self, live: dict[int, ProcReading]) -> tuple[float, ...]:
        """Account for processes that vanished since the last call; return the totals."""
        prev = self._prev
        vanished = {
            pid: r
            for pid, r in prev.items()
            if pid not in live or live[pid].starttime != r.starttime
        }
        groups: dict[int | None, list[float]] = {}
        for r in vanished.values():
            anc = self._live_ancestor(r, prev, vanished)
            acc = groups.setdefault(anc, [0.0] * len(COUNTERS))
            for i, v in enumerate(r.counters):
                acc[i] += v
        for anc, acc in groups.items():
            if anc is None:
                grown: tuple[float, ...] = _ZERO
            else:
                now, before = live[anc].counters, prev[anc].counters
                grown = tuple(a - b for a, b in zip(now, before, strict=True))
            for i, v in enumerate(acc):
                # Reaped inside the tree: the ancestor grew by the exact final value. Otherwise
                # keep what was last seen.
                self._lost[i] += max(0.0, v - grown[i])
        self._prev = live
        totals = list(self._lost)
        for r in live.values():
            for i, v in enumerate(r.counters):
                totals[i] += v
        return tuple(totals)

    @staticmethod
    def _live_ancestor(
        r: ProcReading, prev: dict[int, ProcReading], vanished: dict[int, ProcReading]
    ) -> int | None:
        seen: set[int] = set()
        pid = r.ppid
        while pid in prev and pid not in seen:
            if pid not in vanished:
                return pid
            seen.add(pid)
            pid = prev[pid].ppid
        return None


class ProcessTreeSampler(Sampler):
    """CPU, memory, I/O and counts of the process tree rooted at ``pid``."""

    name = "process_tree"
    keys = (
        "proc_cpu_seconds",
        "proc_user_seconds",
        "proc_system_seconds",
        "proc_rss_mb",
        "proc_hwm_mb",
        "proc_count",
        "proc_threads",
        "proc_ctx_switches",
        "proc_read_bytes",
        "proc_write_bytes",
        "proc_read_count",
        "proc_write_count",
        "proc_rchar_bytes",
        "proc_wchar_bytes",
    )
    counters = (
        "proc_cpu_seconds",
        "proc_user_seconds",
        "proc_system_seconds",
        "proc_read_bytes",
        "proc_write_bytes",
        "proc_read_count",
        "proc_write_count",
        "proc_rchar_bytes",
        "proc_wchar_bytes",
    )
    rates = {
        "proc_cpu_seconds": ("proc_cpu_percent", 100.0),
        "proc_read_bytes": ("proc_read_bps", 1.0),
        "proc_write_bytes": ("proc_write_bps", 1.0),
    }

    @classmethod
    def open(cls, target: Target) -> ProcessTreeSampler | None:
        """The tree rooted at ``target.pid`` (this process when None); None when the job has a
        control group, whose files replace the walk."""
        if target.cgroup_paths:
            return None
        return cls(target.pid, proc_root=target.proc_root)

    def __init__(self, pid: int | None = None, *, proc_root: str = "/proc") -> None:
        self.root_pid = os.getpid() if pid is None else pid
        self._proc = ProcReader(proc_root)
        first = self._proc.stat(self.root_pid)
        if first is None:
            raise errors.SamplerUnavailable(f"process {self.root_pid} does not exist")
        self._root_start = first.starttime
        self._tick = float(os.sysconf("SC_CLK_TCK"))
        self._page = int(os.sysconf("SC_PAGE_SIZE"))
        self._use_children_files = self._proc.has_children_files(self.root_pid)
        if not self._use_children_files:
            log.warning("no /proc/<pid>/task/<tid>/children here: scanning all of /proc instead")
        self._totals = TreeTotals()

    def pids(self) -> list[int]:
        """The live pids of the tree at the last sample."""
        return list(self._totals.previous)

    def sample(self) -> Sample:
        """Walk the tree, read each process, and return totals and gauges."""
        live = self._collect()
        totals = self._totals.update(live)
        user, system, rbytes, wbytes, rcount, wcount, rchar, wchar = totals
        out: Sample = {
            "proc_cpu_seconds": user + system,
            "proc_user_seconds": user,
            "proc_system_seconds": system,
            "proc_read_bytes": rbytes,
            "proc_write_bytes": wbytes,
            "proc_read_count": rcount,
            "proc_write_count": wcount,
            "proc_rchar_bytes": rchar,
            "proc_wchar_bytes": wchar,
        }
        # Zombies (exited, not yet reaped) keep their counters above but have no memory.
        running = [r for r in live.values() if r.state not in ("Z", "X")]
        out["proc_count"] = len(running)
        if running:
            hwm = [r.hwm_kb for r in running if r.hwm_kb is not None]
            ctx = [r.ctx_switches for r in running if r.ctx_switches is not None]
            out["proc_rss_mb"] = sum(r.rss_bytes for r in running) / _MB
            out["proc_hwm_mb"] = sum(hwm) / 1024.0 if hwm else None
            out["proc_threads"] = sum(r.threads for r in running)
            out["proc_ctx_switches"] = sum(ctx) if ctx else None
        else:
            # Nothing running to read: gauges are unknown, not zero.
            for key in ("proc_rss_mb", "proc_hwm_mb", "proc_threads", "proc_ctx_switches"):
                out[key] = None
        return out

    def _collect(self) -> dict[int, ProcReading]:
        prev = self._totals.previous
        live: dict[int, ProcReading] = {}
        self._walk([self.root_pid], live, prev, root=True)
        # Orphans (parent exited before reaping them) left the tree; keep following them.
        stray = [pid for pid in prev if pid not in live]
        if stray:
            self._walk(stray, live, prev, root=False)
        return live

    def _walk(
        self,
        start: list[int],
        live: dict[int, ProcReading],
        prev: dict[int, ProcReading],
        *,
        root: bool,
    ) -> None:
        stack = list(start)
        must_match = not root
        starts = set(start)
        children_of = None if self._use_children_files else self._ppid_map()
        while stack:
            pid = stack.pop()
            if pid in live:
                continue
            st = self._proc.stat(pid)
            if st is None:
                continue
            if root and pid == self.root_pid and st.starttime != self._root_start:
                continue  # the root is gone and its pid was reused
            if (
                must_match
                and pid in starts
                and (pid not in prev or prev[pid].starttime != st.starttime)
            ):
                continue
            reading = self._read(st, prev.get(pid))
            live[pid] = reading
            if children_of is None:
                stack.extend(self._proc.children(pid, st.num_threads))
            else:
                stack.extend(children_of.get(pid, ()))

    def _read(self, st: ProcStat, prev: ProcReading | None) -> ProcReading:
        status = self._proc.status(st.pid) or {}
        io = self._proc.io(st.pid)
        if io is None:
            same = prev is not None and prev.starttime == st.starttime
            io_values = prev.counters[2:] if same and prev is not None else (0.0,) * 6
        else:
            io_values = tuple(float(io.get(k, 0)) for k in _IO_FIELDS)
        vol = status.get("voluntary_ctxt_switches")
        invol = status.get("nonvoluntary_ctxt_switches")
        return ProcReading(
            pid=st.pid,
            starttime=st.starttime,
            ppid=st.ppid,
            state=st.state,
            counters=(
                (st.utime + st.cutime) / self._tick,
                (st.stime + st.cstime) / self._tick,
                *io_values,
            ),
            rss_bytes=st.rss_pages * self._page,
            hwm_kb=status.get("hwm_kb"),
            threads=st.num_threads,
            ctx_switches=None if vol is None or invol is None else vol + invol,
        )

    def _ppid_map(self) -> dict[int, list[int]]:
        kids: dict[int, list[int]] = {}
        for pid in self._proc.all_pids():
            st = self._proc.stat(pid)
            if st is not None:
                kids.setdefault(st.ppid, []).append(pid)
        return kids
