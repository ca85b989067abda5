"""Whole-machine CPU (total and per core), load average, memory and swap.

Read straight from ``/proc/stat`` and ``/proc/meminfo`` (one read each per tick): CPU percent comes
from this instance's own deltas, because psutil's module-level ``cpu_percent`` state would be
shared by every profiler in the process.
"""

from __future__ import annotations

import os

from jobprobe.profiler import errors, rates
from jobprobe.profiler.base import Sample, Sampler, Target
from jobprobe.profiler.procfs import read_text

#: Indexes of idle and iowait among the ``cpu`` line's fields (proc(5)).
IDLE_FIELDS = (3, 4)
#: Shortest window, in jiffies per core, worth a percent: shorter ones are all 0 % or 100 %.
MIN_JIFFIES_PER_CORE = 4


def parse_proc_stat(text: str) -> tuple[tuple[int, ...], list[tuple[int, ...]]]:
    """The aggregate and per-core cumulative CPU times (jiffies) of ``/proc/stat``.

    Guest time is already included in user time, so only the first eight fields are kept.
    """
    total: tuple[int, ...] = ()
    cores: list[tuple[int, ...]] = []
    for line in text.splitlines():
        if not line.startswith("cpu"):
            if cores:
                break
            continue
        name, *fields = line.split()
        values = tuple(int(v) for v in fields[:8])
        if name == "cpu":
            total = values
        else:
            cores.append(values)
    return total, cores


def parse_meminfo(text: str) -> dict[str, int]:
    """``/proc/meminfo`` as ``{field: kB}``."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        if sep:
            out[name] = int(rest.split()[0])
    return out


def memory_figures(info: dict[str, int]) -> Sample:
    """Used (total minus available), available, percent used, and swap used, in MB."""
    total, avail = info["MemTotal"], info.get("MemAvailable")
    if avail is None:  # kernels before 3.14
        avail = info["MemFree"] + info.get("Buffers", 0) + info.get("Cached", 0)
    used = total - avail
    return {
        "mem_used_mb": used / 1024.0,
        "mem_available_mb": avail / 1024.0,
        "mem_percent": 100.0 * used / total if total else None,
        "swap_used_mb": (info.get("SwapTotal", 0) - info.get("SwapFree", 0)) / 1024.0,
    }


class SystemSampler(Sampler):
    """CPU percent (total and per core), 1-minute load, memory and swap."""

    name = "system"
    keys = (
        "cpu_percent",
        "cpu_per_core",
        "load1",
        "mem_used_mb",
        "mem_available_mb",
        "mem_percent",
        "swap_used_mb",
    )

    @classmethod
    def open(cls, target: Target) -> SystemSampler:
        """The machine's CPU and memory, read under ``target.proc_root``."""
        return cls(proc_root=target.proc_root)

    def __init__(self, *, proc_root: str = "/proc") -> None:
        self._stat = f"{proc_root}/stat"
        self._meminfo = f"{proc_root}/meminfo"
        text = read_text(self._stat)
        if not text or read_text(self._meminfo) is None:
            raise errors.SamplerUnavailable(f"cannot read {self._stat} and {self._meminfo}")
        # Priming reading: the first percent comes from the first sample's delta.
        self._prev_total, self._prev_cores = parse_proc_stat(text)

    def sample(self) -> Sample:
        """Read CPU, memory, swap and load."""
        out: Sample = dict.fromkeys(self.keys)
        text = read_text(self._stat)
        if text:
            total, cores = parse_proc_stat(text)
            # Too short a window (a final sample right after a tick) gives no figure, and the
            # next window starts from the older reading.
            if sum(total) - sum(self._prev_total) >= MIN_JIFFIES_PER_CORE * max(1, len(cores)):
                out["cpu_percent"] = rates.busy_percent(self._prev_total, total, IDLE_FIELDS)
                if len(cores) == len(self._prev_cores):
                    out["cpu_per_core"] = [
                        rates.busy_percent(p, c, IDLE_FIELDS)
                        for p, c in zip(self._prev_cores, cores, strict=True)
                    ]
                self._prev_total, self._prev_cores = total, cores
        mem = read_text(self._meminfo)
        if mem:
            out.update(memory_figures(parse_meminfo(mem)))
        out["load1"] = os.getloadavg()[0]
        return out
