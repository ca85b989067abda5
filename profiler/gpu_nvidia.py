"""NVIDIA GPUs through NVML (``nvidia-ml-py``, imported as ``pynvml``).

Handles are opened once in ``__init__`` and NVML is shut down in :meth:`NvidiaSampler.close`.
A field the device does not support becomes ``None`` and is warned about once.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Collection
from typing import Any

from jobprobe.profiler import errors
from jobprobe.profiler.base import Sample, Sampler, Target

log = logging.getLogger(__name__)

_MB = 1024.0 * 1024.0
_library_missing: str | None = None

#: NVML clocks-event (throttle) reason bits -> names (nvml.h ``nvmlClocksEventReason*``).
THROTTLE_REASONS: tuple[tuple[int, str], ...] = (
    (0x1, "gpu_idle"),
    (0x2, "applications_clocks_setting"),
    (0x4, "sw_power_cap"),
    (0x8, "hw_slowdown"),
    (0x10, "sync_boost"),
    (0x20, "sw_thermal_slowdown"),
    (0x40, "hw_thermal_slowdown"),
    (0x80, "hw_power_brake_slowdown"),
    (0x100, "display_clock_setting"),
)

PER_DEVICE_KEYS = (
    "util_percent",
    "mem_util_percent",
    "mem_used_mb",
    "power_w",
    "temp_c",
    "sm_clock_mhz",
    "energy_mj",
    "throttle_reasons",
    "proc_mem_mb",
)


def throttle_names(mask: int) -> list[str]:
    """Names of the reasons set in an NVML clocks-event bitmask (unknown bits as ``bit_0x..``)."""
    names = [name for bit, name in THROTTLE_REASONS if mask & bit]
    known = 0
    for bit, _ in THROTTLE_REASONS:
        known |= bit
    rest = mask & ~known
    bit = 1
    while rest:
        if rest & bit:
            names.append(f"bit_{bit:#x}")
            rest &= ~bit
        bit <<= 1
    return names


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class NvidiaSampler(Sampler):
    """Utilisation, memory, power, energy, temperature, clocks and throttling per GPU.

    ``nvml`` is the ``pynvml`` module (the default) or an object with the same functions;
    ``pids`` returns the job's pids, whose GPU memory is summed into ``gpu_proc_mem_mb``.
    The energy counter is read at the first sample, at most every ``energy_every_s`` seconds
    after, and at the final sample (null on the ticks between): on an H100 (driver 580) that
    one call costs about 4 ms of CPU, twenty times the rest of a tick, and the job's energy is
    the difference of the first and final readings either way.
    A missing NVML library is remembered for the life of the process (it does not appear
    mid-run), so a worker without GPUs does not search for it again for every job.
    """

    name = "gpu_nvidia"

    @classmethod
    def open(cls, target: Target) -> NvidiaSampler:
        """Every NVIDIA GPU of the machine, with the memory ``target.tree_pids`` hold on it."""
        return cls(nvml=target.nvml, pids=target.tree_pids)

    def __init__(
        self,
        *,
        nvml: Any = None,
        pids: Callable[[], Collection[int]] | None = None,
        energy_every_s: float = 10.0,
    ) -> None:
        global _library_missing
        self._energy_every = energy_every_s
        self._energy_read_at: float | None = None
        if nvml is None:
            if _library_missing is not None:  # no need to search for the library every job
                raise errors.SamplerUnavailable(_library_missing)
            try:
                import pynvml
            except ImportError as exc:
                raise errors.SamplerUnavailable(
                    "nvidia-ml-py is not installed (pip install 'jobprobe[gpu]')"
                ) from exc
            nvml = pynvml
        self._nvml = nvml
        self._pids = pids
        self._warned: set[str] = set()
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as exc:
            reason = f"NVML unavailable: {exc}"
            not_found = getattr(nvml, "NVMLError_LibraryNotFound", None)
            if nvml is sys.modules.get("pynvml") and not_found and isinstance(exc, not_found):
                _library_missing = reason  # the driver's library will not appear in this process
            raise errors.SamplerUnavailable(reason) from exc
        try:
            count = nvml.nvmlDeviceGetCount()
            self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            self.devices = [self._describe(i, h) for i, h in enumerate(self._handles)]
        except nvml.NVMLError as exc:
            nvml.nvmlShutdown()
            raise errors.SamplerUnavailable(f"NVML could not list devices: {exc}") from exc
        if not self._handles:
            nvml.nvmlShutdown()
            raise errors.SamplerUnavailable("NVML found no GPU")
        self.keys = (
            "gpu_util_percent",
            "gpu_mem_util_percent",
            "gpu_mem_used_mb",
            "gpu_power_w",
            "gpu_temp_c",
            "gpu_sm_clock_mhz",
            "gpu_throttle_reasons",
            "gpu_proc_mem_mb",
            *(f"gpu{i}_{k}" for i in range(count) for k in PER_DEVICE_KEYS),
        )
        self.counters = tuple(f"gpu{i}_energy_mj" for i in range(count))

    def _describe(self, index: int, handle: Any) -> dict[str, Any]:
        mem = self._field(index, "memory_info", self._nvml.nvmlDeviceGetMemoryInfo, handle)
        return {
            "index": index,
            "name": _text(self._field(index, "name", self._nvml.nvmlDeviceGetName, handle)),
            "uuid": _text(self._field(index, "uuid", self._nvml.nvmlDeviceGetUUID, handle)),
            "mem_total_mb": None if mem is None else mem.total / _MB,
        }

    def _field(self, index: int, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except self._nvml.NVMLError as exc:
            key = f"{index}:{what}"
            if key not in self._warned:
                self._warned.add(key)
                log.warning("GPU %d: cannot read %s (%s); reporting null", index, what, exc)
            return None

    def final_sample(self) -> Sample:
        """Read every device once, the energy counter included."""
        return self._sample(with_energy=True)

    def sample(self) -> Sample:
        """Read every device once (the energy counter only when it is due)."""
        due = self._energy_read_at is None or (
            time.monotonic() - self._energy_read_at >= self._energy_every
        )
        return self._sample(with_energy=due)

    def _sample(self, *, with_energy: bool) -> Sample:
        nvml = self._nvml
        if with_energy:
            self._energy_read_at = time.monotonic()
        job = set(self._pids()) if self._pids is not None else None
        out: Sample = {}
        for i, h in enumerate(self._handles):
            util = self._field(i, "utilization", nvml.nvmlDeviceGetUtilizationRates, h)
            mem = self._field(i, "memory_info", nvml.nvmlDeviceGetMemoryInfo, h)
            power = self._field(i, "power", nvml.nvmlDeviceGetPowerUsage, h)
            temp = self._field(
                i, "temperature", nvml.nvmlDeviceGetTemperature, h, nvml.NVML_TEMPERATURE_GPU
            )
            clock = self._field(i, "sm_clock", nvml.nvmlDeviceGetClockInfo, h, nvml.NVML_CLOCK_SM)
            energy_mj = (
                self._field(i, "energy", nvml.nvmlDeviceGetTotalEnergyConsumption, h)
                if with_energy
                else None
            )
            reasons_fn = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None) or (
                nvml.nvmlDeviceGetCurrentClocksThrottleReasons
            )
            mask = self._field(i, "throttle_reasons", reasons_fn, h)
            out[f"gpu{i}_util_percent"] = None if util is None else float(util.gpu)
            out[f"gpu{i}_mem_util_percent"] = None if util is None else float(util.memory)
            out[f"gpu{i}_mem_used_mb"] = None if mem is None else mem.used / _MB
            out[f"gpu{i}_power_w"] = None if power is None else power / 1000.0
            out[f"gpu{i}_temp_c"] = None if temp is None else float(temp)
            out[f"gpu{i}_sm_clock_mhz"] = None if clock is None else float(clock)
            out[f"gpu{i}_energy_mj"] = None if energy_mj is None else float(energy_mj)
            out[f"gpu{i}_throttle_reasons"] = None if mask is None else throttle_names(int(mask))
            out[f"gpu{i}_proc_mem_mb"] = self._proc_mem(i, h, job)
        n = len(self._handles)

        def col(key: str) -> list[Any]:
            return [out[f"gpu{i}_{key}"] for i in range(n) if out[f"gpu{i}_{key}"] is not None]

        def agg(values: list[Any], how: Callable[[list[Any]], Any]) -> Any:
            return how(values) if values else None

        out["gpu_util_percent"] = agg(col("util_percent"), lambda v: sum(v) / len(v))
        out["gpu_mem_util_percent"] = agg(col("mem_util_percent"), lambda v: sum(v) / len(v))
        out["gpu_mem_used_mb"] = agg(col("mem_used_mb"), sum)
        out["gpu_power_w"] = agg(col("power_w"), sum)
        out["gpu_temp_c"] = agg(col("temp_c"), max)
        out["gpu_sm_clock_mhz"] = agg(col("sm_clock_mhz"), lambda v: sum(v) / len(v))
        reasons = col("throttle_reasons")
        out["gpu_throttle_reasons"] = sorted({r for rs in reasons for r in rs}) if reasons else None
        out["gpu_proc_mem_mb"] = agg(col("proc_mem_mb"), sum)
        return out

    def _proc_mem(self, index: int, handle: Any, job: set[int] | None) -> float | None:
        if job is None:
            return None
        nvml = self._nvml
        procs: list[Any] = []
        for what, fn_name in (
            ("compute_processes", "nvmlDeviceGetComputeRunningProcesses"),
            ("graphics_processes", "nvmlDeviceGetGraphicsRunningProcesses"),
        ):
            fn = getattr(nvml, fn_name, None)
            if fn is not None:
                got = self._field(index, what, fn, handle)
                if got is None:
                    return None
                procs.extend(got)
        used = {p.pid: p.usedGpuMemory for p in procs if p.pid in job}
        if any(v is None for v in used.values()):
            return None  # the driver hides per-process memory (e.g. without permission)
        return sum(used.values()) / _MB

    def close(self) -> None:
        """Shut NVML down."""
        try:
            self._nvml.nvmlShutdown()
        except self._nvml.NVMLError as exc:
            log.warning("nvmlShutdown failed: %s", exc)


def visible_gpus(nvml: Any = None) -> tuple[int, str | None]:
    """How many GPUs a job started by this process could use, and why none when it is 0.

    NVML's device count, cut to the devices ``CUDA_VISIBLE_DEVICES`` names when it is set
    (NVML itself ignores that variable).
    """
    try:
        sampler = NvidiaSampler(nvml=nvml)
    except errors.SamplerUnavailable as exc:
        return 0, str(exc)
    count = len(sampler.devices)
    sampler.close()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        names = [n for n in visible.split(",") if n.strip()]
        if names and names[0].strip() == "-1":
            names = []
        count = min(count, len(names))
        if count == 0:
            return 0, f"CUDA_VISIBLE_DEVICES={visible!r} hides every GPU"
    return count, None
