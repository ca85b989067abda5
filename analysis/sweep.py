"""A load sweep's facts from the records of its jobs: throughput points, the saturation analysis,
which jobs ended, a fingerprint of them, and a short summary. Pure: records in, facts out."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from jobprobe.analysis import report, saturation
from jobprobe.store.status import TERMINAL, JobStatus, SweepStatus


def number(value: Any) -> float | None:
    """``value`` as a float when it is a number (bools are not), else None."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None


#: Names of a throughput metric, most specific first (then any ``*_per_s`` name).
THROUGHPUT_NAMES = ("throughput", "rps", "qps", "tps", "ops", "iops", "requests_per_s",
                    "tokens_per_s", "ops_per_s")  # fmt: skip
_PER_SECOND = re.compile(r"(_per_s|_per_sec|_per_second|_/s|/s)$")
#: A latency unit suffix and its factor to milliseconds (no unit: milliseconds).
_UNITS = {"ms": 1.0, "us": 1e-3, "µs": 1e-3, "ns": 1e-6, "s": 1e3, "sec": 1e3, "seconds": 1e3}


def _numeric(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): v for k, v in ((k, number(v)) for k, v in metrics.items()) if v is not None}


def throughput_name(metrics: Mapping[str, Any]) -> str | None:
    """The metrics entry that is the job's throughput: ``throughput`` (or one containing it),
    ``rps``/``qps``/``tps``/``ops``/``iops``, then any per-second rate (``tokens_per_s``)."""
    names = sorted(_numeric(metrics))
    lowered = {n: n.lower() for n in names}
    exact = [n for n in names if lowered[n] in THROUGHPUT_NAMES]
    if exact:
        return min(exact, key=lambda n: THROUGHPUT_NAMES.index(lowered[n]))
    for candidates in (
        [n for n in names if "throughput" in lowered[n]],
        [n for n in names if lowered[n].split("_")[0] in THROUGHPUT_NAMES],
        [n for n in names if _PER_SECOND.search(lowered[n])],
    ):
        if candidates:
            return min(candidates, key=len)
    return None


def latency_name(metrics: Mapping[str, Any], percentile: int) -> str | None:
    """The metrics entry of the ``percentile`` latency: ``p99_ms``, ``p99_latency_ms``,
    ``latency_p99_ms``, ``p99``, ``latency_p99_us``, ... (a ``pNN`` token, any unit)."""
    token = re.compile(rf"(^|[_\-.])p{percentile}($|[_\-.])")
    names = [n for n in sorted(_numeric(metrics)) if token.search(n.lower())]
    return min(names, key=len) if names else None


def to_ms(name: str, value: float) -> float:
    """A latency in milliseconds, from the unit its name ends with (none: milliseconds)."""
    unit = name.lower().rsplit("_", 1)[-1] if "_" in name else ""
    return value * _UNITS.get(unit, 1.0)


def points(
    vary: str,
    records: Sequence[Mapping[str, Any]],
    *,
    throughput_metric: str | None = None,
    latency_metric: str | None = None,
) -> list[dict[str, Any]]:
    """One ``saturation.sweep_report`` point per successful job, at its value of ``vary``.

    Throughput is the metrics entry ``throughput_metric`` names, else the one
    ``throughput_name`` finds; without one, ``requests`` per second of duration; without that,
    runs per second of duration (1 / duration). p99 is ``latency_metric`` (else
    ``latency_name``), p50 ``latency_name``; both in milliseconds (``to_ms``). Each point says
    which metrics it used (``metric_names``).
    """
    out: list[dict[str, Any]] = []
    seen: dict[float, int] = {}
    for rec in records:
        value = number((rec.get("params") or {}).get(vary))
        if rec.get("status") != JobStatus.SUCCESS or value is None:
            continue
        metrics = rec.get("metrics") or {}
        duration = number(rec.get("duration_seconds"))
        tp_name = throughput_metric or throughput_name(metrics)
        throughput = number(metrics.get(tp_name)) if tp_name else None
        if throughput is None and duration:
            work = number(metrics.get("requests")) or 1.0
            throughput = work / duration
            tp_name = (
                "requests / duration_seconds"
                if number(metrics.get("requests"))
                else ("1 / duration_seconds")
            )
        p99_name = latency_metric or latency_name(metrics, 99)
        p50_name = latency_name(metrics, 50)
        p99 = number(metrics.get(p99_name)) if p99_name else None
        p50 = number(metrics.get(p50_name)) if p50_name else None
        seen[value] = seen.get(value, 0) + 1
        out.append(
            {
                "value": value,
                "repeat": seen[value],
                "throughput": throughput,
                "p50_ms": None if p50 is None or p50_name is None else to_ms(p50_name, p50),
                "p99_ms": None if p99 is None or p99_name is None else to_ms(p99_name, p99),
                "metric_names": {
                    "throughput": tp_name,
                    "p50": p50_name if p50 is not None else None,
                    "p99": p99_name if p99 is not None else None,
                },
                "record": dict(rec),
            }
        )
    return out


def _metric_names(pts: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Which metrics entries the points used, per figure (several when jobs differ)."""
    used: dict[str, list[str]] = {"throughput": [], "p50": [], "p99": []}
    for point in pts:
        for figure, name in point["metric_names"].items():
            if name is not None and name not in used[figure]:
                used[figure].append(name)
    return used


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


def facts(
    sweep: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    *,
    throughput_metric: str | None = None,
    latency_metric: str | None = None,
) -> dict[str, Any]:
    """The sweep's facts from its jobs' records (it may still run): ``sweep`` is its record
    (``store.records.sweep_record``), ``records`` those of its jobs; the metric names as in
    ``points``."""
    pts = points(
        sweep["vary"], records, throughput_metric=throughput_metric, latency_metric=latency_metric
    )
    result = saturation.sweep_report(pts, slo_p99=sweep["slo_p99_ms"])
    out = report.sweep_facts(result)
    out["metric_names"] = _metric_names(pts)
    # Where the points were measured: points from different workers are not comparable.
    out["workers"] = sorted(
        {str(p["record"].get("worker")) for p in pts if p["record"].get("worker")}
    )
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
