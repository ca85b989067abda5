"""A load sweep's facts from the records of its jobs: throughput points, the saturation analysis,
which jobs ended, a fingerprint of them, and a short summary. Pure: records in, facts out."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from jobprobe.analysis import report, saturation
from jobprobe.store.status import TERMINAL, JobStatus, SweepStatus


def number(value: Any) -> float | None:
    """``value`` as a float when it is a number (bools are not), else None."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None


def points(vary: str, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One ``saturation.sweep_report`` point per successful job, at its value of ``vary``.

    Throughput is the metrics file's ``throughput``; without one, ``requests`` per second of
    duration; without that, runs per second of duration (1 / duration).
    """
    out: list[dict[str, Any]] = []
    seen: dict[float, int] = {}
    for rec in records:
        value = number((rec.get("params") or {}).get(vary))
        if rec.get("status") != JobStatus.SUCCESS or value is None:
            continue
        metrics = rec.get("metrics") or {}
        duration = number(rec.get("duration_seconds"))
        throughput = number(metrics.get("throughput"))
        if throughput is None and duration:
            work = number(metrics.get("requests")) or 1.0
            throughput = work / duration
        seen[value] = seen.get(value, 0) + 1
        out.append(
            {
                "value": value,
                "repeat": seen[value],
                "throughput": throughput,
                "p50_ms": number(metrics.get("p50_ms")),
                "p99_ms": number(metrics.get("p99_ms")),
                "record": dict(rec),
            }
        )
    return out


def fingerprint(records: Sequence[Mapping[str, Any]]) -> str:
    """Names the set of ended jobs and how each ended: a report written for the same
    fingerprint is current."""
    ended = sorted(f"{r['task_id']}:{r['status']}" for r in records if r["status"] in TERMINAL)
    return hashlib.sha256("\n".join(ended).encode()).hexdigest()[:16]


def summary(facts: Mapping[str, Any]) -> str:
    """Short lines: saturation point, latency knee, USL peak, saturating resource."""

    def knee(name: str, k: Mapping[str, Any] | None) -> str:
        if k and k.get("found"):
            return f"{name} at {facts['vary']}={k['x']:g}"
        return f"{name}: none ({(k or {}).get('reason')})"

    lines = [
        f"{knee('throughput saturates', facts.get('throughput_knee'))}; "
        f"{knee('p99 knee', facts.get('latency_knee'))}"
    ]
    usl = facts.get("usl") or {}
    if usl.get("ok"):
        peak = usl.get("peak_n")
        lines.append(
            f"USL sigma {usl['sigma']:g} kappa {usl['kappa']:g} (R2 {usl['r2']:g})"
            + (f", peak at {facts['vary']}={peak:.3g}" if peak is not None else ", no peak")
        )
    sat = facts.get("saturation") or {}
    if sat.get("resource"):
        lines.append(f"saturating resource: {sat['resource']} ({sat.get('verdict')})")
    return "\n".join(lines)


def facts(sweep: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The sweep's facts from its jobs' records (it may still run): ``sweep`` is its record
    (``store.records.sweep_record``), ``records`` those of its jobs."""
    result = saturation.sweep_report(points(sweep["vary"], records), slo_p99=sweep["slo_p99_ms"])
    out = report.sweep_facts(result)
    ended = [r for r in records if r["status"] in TERMINAL]
    out.update(sweep)
    out["jobs"] = {
        "total": len(records),
        "ended": len(ended),
        "succeeded": sum(r["status"] == JobStatus.SUCCESS for r in records),
        "failed": [r["task_id"] for r in ended if r["status"] != JobStatus.SUCCESS],
    }
    out["jobs_fingerprint"] = fingerprint(records)
    out["summary"] = summary(out)
    return out


def final_status(facts: Mapping[str, Any]) -> SweepStatus:
    """How a reported sweep ends: done, or failed when none of its jobs succeeded."""
    return SweepStatus.DONE if facts["jobs"]["succeeded"] else SweepStatus.FAILED
