"""Whole-machine CPU (total and per core), load average, memory and swap."""

from __future__ import annotations

import os

import psutil

from profiler import rates
from profiler.base import Sample, Sampler

_MB = 1024.0 * 1024.0


def _idle_fields(fields: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(i for i, f in enumerate(fields) if f in ("idle", "iowait"))


class SystemSampler(Sampler):
    """CPU percent from this instance's own ``/proc/stat`` deltas (psutil's module-level
    ``cpu_percent`` state would be shared between profilers), plus memory, swap and load."""

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

    def __init__(self) -> None:
        total = psutil.cpu_times()
        self._idle = _idle_fields(total._fields)
        # Priming reading: the first percent comes from the first sample's delta.
        self._prev_total: tuple[float, ...] = tuple(total)
        self._prev_cores = [tuple(c) for c in psutil.cpu_times(percpu=True)]

    def sample(self) -> Sample:
        """Read CPU, memory, swap and load."""
        total = tuple(psutil.cpu_times())
        cores = [tuple(c) for c in psutil.cpu_times(percpu=True)]
        cpu = rates.busy_percent(self._prev_total, total, self._idle)
        per_core = (
            [
                rates.busy_percent(p, c, self._idle)
                for p, c in zip(self._prev_cores, cores, strict=True)
            ]
            if len(cores) == len(self._prev_cores)
            else None
        )
        self._prev_total, self._prev_cores = total, cores
        vm = psutil.virtual_memory()
        swap = psutil.swap_memory()
        return {
            "cpu_percent": cpu,
            "cpu_per_core": per_core,
            "load1": os.getloadavg()[0],
            "mem_used_mb": vm.used / _MB,
            "mem_available_mb": vm.available / _MB,
            "mem_percent": vm.percent,
            "swap_used_mb": swap.used / _MB,
        }
