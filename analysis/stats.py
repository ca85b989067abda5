"""Aggregates for ``job-stats``: counts by status, success rate, durations, CPU and memory."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jobprobe.analysis import fields


def _summary(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    statuses = Counter(str(r.get("status")) for r in records)
    finished = sum(statuses[s] for s in ("success", "failed", "timeout", "lost", "cancelled"))
    durations = [d for d in (fields.duration_s(r) for r in records) if d is not None]
    cpu = [c for c in (fields.cpu_seconds(r) for r in records) if c is not None]
    memory = [m for m in (fields.memory_peak_mb(r) for r in records) if m is not None]
    return {
        "jobs": len(records),
        "by_status": dict(sorted(statuses.items())),
        "success_rate": statuses["success"] / finished if finished else None,
        "duration_p50_s": float(np.percentile(durations, 50)) if durations else None,
        "duration_p95_s": float(np.percentile(durations, 95)) if durations else None,
        "duration_mean_s": float(np.mean(durations)) if durations else None,
        "cpu_seconds": float(sum(cpu)) if cpu else None,
        "memory_peak_mb": max(memory) if memory else None,
        "jobs_without_duration": len(records) - len(durations),
    }


def job_stats(records: Sequence[Mapping[str, Any]], *, by: str | None = None) -> dict[str, Any]:
    """Overall figures and, with ``by`` (``tool``, ``queue``, ``worker``, ``label:KEY``), per
    group. Success rate counts finished jobs only; missing figures are left out, not zeroed."""
    result = {"overall": _summary(records), "groups": {}}
    if by:
        groups: dict[str, list[Mapping[str, Any]]] = {}
        for record in records:
            groups.setdefault(fields.group_key(record, by), []).append(record)
        result["groups"] = {k: _summary(v) for k, v in sorted(groups.items())}
    return result
