"""A stand-in for the ``pynvml`` module that replays recorded answers (tests/data/nvml).

Only the library boundary is faked: the profiler's own NVML code runs unchanged over it.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "data" / "nvml"


class NVMLError(Exception):
    """Base of the fake's errors, as in pynvml."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return {2: "Not Supported", 12: "NVML Shared Library Not Found"}.get(self.value, "Unknown")


class NVMLError_NotSupported(NVMLError):
    def __init__(self) -> None:
        super().__init__(2)


class NVMLError_LibraryNotFound(NVMLError):
    def __init__(self) -> None:
        super().__init__(12)


class FakeNvml:
    """Module-like object with the pynvml functions the profiler calls."""

    NVMLError = NVMLError
    NVMLError_NotSupported = NVMLError_NotSupported
    NVML_TEMPERATURE_GPU = 0
    NVML_CLOCK_SM = 1

    def __init__(
        self, recording: str = "h100.json", *, job_pid: int = 0, library_missing: bool = False
    ) -> None:
        self._rec = json.loads((DATA / recording).read_text())
        self._job_pid = job_pid
        self._missing = library_missing
        self.initialised = 0
        self.shutdowns = 0
        self._calls: dict[tuple[int, str], int] = {}

    # -- lifecycle --
    def nvmlInit(self) -> None:
        if self._missing:
            raise NVMLError_LibraryNotFound()
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self._rec["devices"])

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    # -- answers --
    def _dev(self, h: int) -> dict[str, Any]:
        return self._rec["devices"][h]

    def _tick(self, h: int, field: str) -> dict[str, Any]:
        dev = self._dev(h)
        if field in dev["not_supported"]:
            raise NVMLError_NotSupported()
        n = self._calls.get((h, field), 0)
        self._calls[(h, field)] = n + 1
        ticks = dev["ticks"]
        return ticks[min(n, len(ticks) - 1)]  # type: ignore[no-any-return]

    def nvmlDeviceGetName(self, h: int) -> str:
        return self._dev(h)["name"]  # type: ignore[no-any-return]

    def nvmlDeviceGetUUID(self, h: int) -> str:
        return self._dev(h)["uuid"]  # type: ignore[no-any-return]

    def nvmlDeviceGetMemoryInfo(self, h: int) -> SimpleNamespace:
        t = self._tick(h, "memory")
        total = self._dev(h)["memory_total"]
        return SimpleNamespace(total=total, used=t["memory_used"], free=total - t["memory_used"])

    def nvmlDeviceGetUtilizationRates(self, h: int) -> SimpleNamespace:
        t = self._tick(h, "utilization")
        return SimpleNamespace(gpu=t["util_gpu"], memory=t["util_memory"])

    def nvmlDeviceGetPowerUsage(self, h: int) -> int:
        return self._tick(h, "power")["power_mw"]  # type: ignore[no-any-return]

    def nvmlDeviceGetTemperature(self, h: int, sensor: int) -> int:
        assert sensor == self.NVML_TEMPERATURE_GPU
        return self._tick(h, "temperature")["temp_c"]  # type: ignore[no-any-return]

    def nvmlDeviceGetClockInfo(self, h: int, clock: int) -> int:
        assert clock == self.NVML_CLOCK_SM
        return self._tick(h, "clock")["sm_clock_mhz"]  # type: ignore[no-any-return]

    def nvmlDeviceGetTotalEnergyConsumption(self, h: int) -> int:
        return self._tick(h, "energy")["energy_mj"]  # type: ignore[no-any-return]

    def nvmlDeviceGetCurrentClocksEventReasons(self, h: int) -> int:
        return self._tick(h, "throttle")["throttle_mask"]  # type: ignore[no-any-return]

    def nvmlDeviceGetComputeRunningProcesses(self, h: int) -> list[SimpleNamespace]:
        procs = self._tick(h, "processes")["processes"]
        return [
            SimpleNamespace(
                pid=self._job_pid if p["pid"] == "JOB" else p["pid"],
                usedGpuMemory=p["usedGpuMemory"],
            )
            for p in procs
        ]

    def nvmlDeviceGetGraphicsRunningProcesses(self, h: int) -> list[SimpleNamespace]:
        return []
