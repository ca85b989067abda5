"""Aggregates: the one percentile, and ``job-stats`` figures over records.

Pure Python on purpose: the store and the profiler import ``percentile`` too, and a command
that reads a few rows must not load numpy.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from jobprobe.analysis import fields
from jobprobe.store import status


def percentile(values: Sequence[float], q: float) -> float | None:
    """Percentile ``q`` (0-100) of ``values``, linearly interpolated between the two nearest
    ranks (numpy's default); ``None`` when there are no values."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _summary(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    statuses = Counter(str(r.get("status")) for r in records)
    durations = [d for d in (fields.duration_s(r) for r in records) if d is not None]
    cpu = [c for c in (fields.cpu_seconds(r) for r in records) if c is not None]
    memory = [m for m in (fields.memory_peak_mb(r) for r in records) if m is not None]
    return {
        "jobs": len(records),
        "by_status": dict(sorted(statuses.items())),
        "success_rate": status.success_rate_of(statuses.elements()),
        "duration_p50_s": percentile(durations, 50),
        "duration_p95_s": percentile(durations, 95),
        "duration_mean_s": sum(durations) / len(durations) if durations else None,
        "cpu_seconds": float(sum(cpu)) if cpu else None,
        "memory_peak_mb": max(memory) if memory else None,
        "jobs_without_duration": len(records) - len(durations),
    }


def job_stats(records: Sequence[Mapping[str, Any]], *, by: str | None = None) -> dict[str, Any]:
    """Overall figures and, with ``by`` (``tool``, ``queue``, ``worker``, ``label:KEY``), per
    group. The success rate is ``store.status.success_rate`` (successes over finished jobs);
    missing figures are left out, not zeroed."""
    result = {"overall": _summary(records), "groups": {}}
    if by:
        groups: dict[str, list[Mapping[str, Any]]] = {}
        for record in records:
            groups.setdefault(fields.group_key(record, by), []).append(record)
        result["groups"] = {k: _summary(v) for k, v in sorted(groups.items())}
    return result
