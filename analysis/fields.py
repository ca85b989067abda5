"""Reading job-record fields: nested look-ups and the derived figures every analysis shares.

A missing or null field stays ``None`` (never 0): callers decide what absence means.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from jobprobe.store import timestamps


def get(record: Mapping[str, Any], path: str) -> Any:
    """Value at a dotted ``path`` (``"detailed_profile.cpu.mean_percent"``), or ``None``."""
    node: Any = record
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def num(record: Mapping[str, Any], *paths: str) -> float | None:
    """First finite number found at any of ``paths`` (bools excluded), else ``None``."""
    for path in paths:
        value = get(record, path)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            return float(value)
    return None


def duration_s(record: Mapping[str, Any]) -> float | None:
    """Run time in seconds, from the record or its profile."""
    return num(record, "duration_seconds", "detailed_profile.duration_seconds")


def cpu_seconds(record: Mapping[str, Any]) -> float | None:
    """CPU-seconds used by the job's process tree."""
    return num(
        record, "resource_usage.cpu_total_seconds", "detailed_profile.process_cpu.total_seconds"
    )


def memory_peak_mb(record: Mapping[str, Any]) -> float | None:
    """Peak resident memory of the job's process tree, MB."""
    return num(record, "resource_usage.memory_peak_mb", "detailed_profile.process_memory.max_mb")


def gpu_devices(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """GPU devices that have utilisation samples (empty when there were none).

    On a host with several GPUs, when the job's own processes held memory on some of them,
    only those: the others' utilisation belongs to other jobs.
    """
    devices = get(record, "detailed_profile.gpu_stats.nvidia")
    if not isinstance(devices, list):
        return []
    sampled = [
        d for d in devices if isinstance(d, Mapping) and num(d, "mean_util_percent") is not None
    ]
    own = [d for d in sampled if (num(d, "proc_mem_max_mb") or 0.0) > 0]
    return own or sampled


def gpus_held(record: Mapping[str, Any]) -> int | None:
    """GPUs the job held: those it requested; without a request, the sampled devices its
    processes used memory on (all sampled devices when per-process memory is unknown)."""
    requested = get(record, "gpus")
    if isinstance(requested, int) and not isinstance(requested, bool):
        return requested
    devices = gpu_devices(record)
    if not devices:
        return None
    used = [num(d, "proc_mem_max_mb") for d in devices]
    if all(u is None for u in used):
        return len(devices)
    return sum(1 for u in used if u is not None and u > 0)


def gpu_mean_util(record: Mapping[str, Any]) -> float | None:
    """Mean GPU utilisation over the sampled devices, percent; ``None`` without samples."""
    utils = [num(d, "mean_util_percent") for d in gpu_devices(record)]
    known = [u for u in utils if u is not None]
    return sum(known) / len(known) if known else None


def gpu_seconds(record: Mapping[str, Any]) -> float | None:
    """Busy GPU-seconds: sum over devices of mean util x duration / 100.

    0.0 for a job that held no GPU; ``None`` when it held GPUs that were not sampled.
    """
    devices = gpu_devices(record)
    duration = duration_s(record)
    if not devices:
        return 0.0 if gpus_held(record) == 0 else None
    if duration is None:
        return None
    return sum((num(d, "mean_util_percent") or 0.0) * duration / 100.0 for d in devices)


def gpu_energy_j(record: Mapping[str, Any]) -> float | None:
    """GPU energy in joules summed over devices; ``None`` when any device lacks it."""
    devices = gpu_devices(record)
    energies = [num(d, "energy_j") for d in devices]
    if not devices or any(e is None for e in energies):
        return None
    return sum(e for e in energies if e is not None)


def started_at(record: Mapping[str, Any]) -> datetime | None:
    """Start time (falling back to submission time) as an aware datetime, or ``None``."""
    for key in ("start_time", "submitted_at"):
        parsed = timestamps.parse_utc(record.get(key))
        if parsed is not None:
            return parsed
    return None


def group_key(record: Mapping[str, Any], by: str) -> str:
    """Group value for ``by`` (``tool``, ``queue``, ``worker`` or ``label:KEY``); ``(none)``."""
    if by.startswith("label:"):
        labels = record.get("labels")
        value = labels.get(by[6:]) if isinstance(labels, Mapping) else None
    else:
        value = record.get(by)
    return str(value) if value not in (None, "") else "(none)"
