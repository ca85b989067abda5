"""Usage over time, trend direction, period-over-period change, and wasted-GPU drill-down.

Wasted GPU-hours of a job = GPUs held x idle fraction x hours, with idle fraction
1 - mean GPU utilisation / 100. A job that held GPUs without GPU samples has unknown waste: it is
counted in ``gpu_unknown_jobs`` and never added as 0.

GPU utilisation of a group = 100 x (1 - wasted GPU-hours / measured GPU-hours), where measured
GPU-hours are those of jobs whose utilisation was sampled: the GPU-hours-weighted mean of their
utilisation. None where no job's GPUs were measured.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from jobprobe.analysis import fields
from jobprobe.store import status

#: The per-job figures a trend can follow (``usage_trend``'s ``metric``).
TREND_METRICS = (
    "cpu_hours", "gpu_hours", "wasted_gpu_hours", "gpu_util_percent", "jobs", "failures",
)  # fmt: skip
#: The figures that add up over jobs (``gpu_util_percent`` is derived from two of them).
_SUMMED = ("jobs", "failures", "cpu_hours", "gpu_hours", "wasted_gpu_hours", "measured_gpu_hours")


@dataclass(frozen=True)
class JobUsage:
    """The usage figures of one job that trends add up."""

    cpu_hours: float | None
    gpu_hours: float | None
    wasted_gpu_hours: float | None
    held_gpus: bool
    failed: bool


def job_usage(record: Mapping[str, Any]) -> JobUsage:
    """CPU-hours, held GPU-hours and wasted GPU-hours of one job (``None`` when unknown)."""
    seconds = fields.cpu_seconds(record)
    duration = fields.duration_s(record)
    held = fields.gpus_held(record)
    util = fields.gpu_mean_util(record)
    gpu_hours = wasted = None
    if held == 0:
        gpu_hours = wasted = 0.0
    elif held is not None and duration is not None:
        gpu_hours = held * duration / 3600.0
        if util is not None:
            wasted = gpu_hours * (1.0 - util / 100.0)
    return JobUsage(
        cpu_hours=None if seconds is None else seconds / 3600.0,
        gpu_hours=gpu_hours,
        wasted_gpu_hours=wasted,
        held_gpus=bool(held),
        failed=record.get("status") in status.FAILURES,
    )


def _empty() -> dict[str, Any]:
    return {
        "jobs": 0,
        "failures": 0,
        "cpu_hours": 0.0,
        "cpu_unknown_jobs": 0,
        "gpu_hours": 0.0,
        "wasted_gpu_hours": 0.0,
        "gpu_unknown_jobs": 0,
        "measured_gpu_hours": 0.0,
        "gpu_util_percent": None,
    }


def gpu_util_percent(wasted_gpu_hours: float, measured_gpu_hours: float) -> float | None:
    """Utilisation of the measured GPU-hours (see the module doc); None when none was measured."""
    if measured_gpu_hours <= 0:
        return None
    return 100.0 * (1.0 - wasted_gpu_hours / measured_gpu_hours)


def _add(acc: dict[str, Any], usage: JobUsage) -> None:
    acc["jobs"] += 1
    acc["failures"] += int(usage.failed)
    if usage.cpu_hours is None:
        acc["cpu_unknown_jobs"] += 1
    else:
        acc["cpu_hours"] += usage.cpu_hours
    if usage.gpu_hours is not None:
        acc["gpu_hours"] += usage.gpu_hours
    if usage.wasted_gpu_hours is None:
        acc["gpu_unknown_jobs"] += 1
    else:
        acc["wasted_gpu_hours"] += usage.wasted_gpu_hours
        acc["measured_gpu_hours"] += usage.gpu_hours or 0.0
    acc["gpu_util_percent"] = gpu_util_percent(acc["wasted_gpu_hours"], acc["measured_gpu_hours"])


def _bucket(moment: datetime, bucket: str) -> datetime:
    moment = moment.astimezone(UTC)
    if bucket == "day":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(minute=0, second=0, microsecond=0)


def usage_over_time(
    records: Sequence[Mapping[str, Any]],
    *,
    bucket: Literal["hour", "day"] = "hour",
    by: str = "tool",
) -> list[dict[str, Any]]:
    """Rows of ``{bucket, group, jobs, failures, cpu_hours, gpu_hours, wasted_gpu_hours, ...}``.

    ``by`` is ``tool``, ``queue``, ``worker`` or ``label:KEY``. Jobs with no start or
    submission time are left out and counted in a row whose ``bucket`` is ``None``.
    """
    if bucket not in ("hour", "day"):
        raise ValueError(f"bucket must be 'hour' or 'day', not {bucket!r}")
    table: dict[tuple[str | None, str], dict[str, Any]] = {}
    for record in records:
        moment = fields.started_at(record)
        key = None if moment is None else _bucket(moment, bucket).isoformat()
        acc = table.setdefault((key, fields.group_key(record, by)), _empty())
        _add(acc, job_usage(record))
    return [
        {"bucket": key, "group": group, **acc}
        for (key, group), acc in sorted(table.items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))
    ]


@dataclass(frozen=True)
class Trend:
    """A least-squares line through a series: ``direction`` is ``flat`` unless p < 0.05."""

    slope: float | None
    direction: Literal["rising", "falling", "flat"]
    p_value: float | None
    n: int
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def trend_direction(series: Sequence[float | None], *, alpha: float = 0.05) -> Trend:
    """Slope per step of ``series`` (equally spaced) and whether it is significantly non-zero."""
    import numpy as np  # imported here: listing usage needs no numerics
    from scipy import stats

    # Unknown points (None) are left out; the others keep their place in the series.
    x = np.asarray([i for i, v in enumerate(series) if v is not None], dtype=float)
    y = np.asarray([v for v in series if v is not None], dtype=float)
    if len(y) < 3:
        return Trend(None, "flat", None, len(y), "too few points: need 3")
    if np.ptp(y) == 0:
        return Trend(0.0, "flat", 1.0, len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = stats.linregress(x, y)
    slope, p = float(fit.slope), float(fit.pvalue)
    direction: Literal["rising", "falling", "flat"] = "flat"
    if p < alpha:
        direction = "rising" if slope > 0 else "falling"
    return Trend(slope, direction, p, len(y))


def usage_trend(
    records: Sequence[Mapping[str, Any]],
    *,
    bucket: Literal["hour", "day"] = "day",
    by: str = "tool",
    metric: str = "cpu_hours",
) -> dict[str, Any]:
    """Usage per ``bucket`` and group, and per group its totals, the series of ``metric`` over
    every bucket (None where the group had no job) and that series' ``trend_direction``.

    Returns ``{"buckets": [...], "groups": [...], "rows": usage_over_time(...)}``.
    """
    if metric not in TREND_METRICS:
        raise ValueError(f"metric must be one of {', '.join(TREND_METRICS)}, not {metric!r}")
    rows = usage_over_time(records, bucket=bucket, by=by)
    buckets = sorted({r["bucket"] for r in rows if r["bucket"]})
    groups = []
    for group in sorted({r["group"] for r in rows}):
        mine = {r["bucket"]: r for r in rows if r["group"] == group}
        series = [mine[b][metric] if b in mine else None for b in buckets]
        totals = {k: sum(r[k] for r in mine.values()) for k in _SUMMED}
        totals["gpu_util_percent"] = gpu_util_percent(
            totals["wasted_gpu_hours"], totals["measured_gpu_hours"]
        )
        # A bucket without jobs used nothing (0); its utilisation is unknown (left out).
        points: list[float | None] = (
            series if metric == "gpu_util_percent" else [v or 0.0 for v in series]
        )
        groups.append({
            "group": group, **totals, "series": series,
            "trend": trend_direction(points).to_dict(),
        })  # fmt: skip
    return {"buckets": buckets, "groups": groups, "rows": rows}


def _change(now: float, before: float) -> float | None:
    return None if before == 0 else (now - before) / before


def compare_periods(
    records: Sequence[Mapping[str, Any]], *, period_days: float, now: datetime, by: str = "tool"
) -> list[dict[str, Any]]:
    """This period (``now - period_days`` .. ``now``) against the one before, per group.

    Relative changes are ``None`` when the previous period had none of that figure.
    """
    span = timedelta(days=period_days)
    current: dict[str, dict[str, Any]] = {}
    previous: dict[str, dict[str, Any]] = {}
    for record in records:
        moment = fields.started_at(record)
        if moment is None or moment > now or moment <= now - 2 * span:
            continue
        side = current if moment > now - span else previous
        _add(side.setdefault(fields.group_key(record, by), _empty()), job_usage(record))
    rows = []
    for group in sorted(current.keys() | previous.keys()):
        cur, prev = current.get(group, _empty()), previous.get(group, _empty())
        change: dict[str, float | None] = {
            k: _change(cur[k], prev[k])
            for k in ("jobs", "failures", "cpu_hours", "gpu_hours", "wasted_gpu_hours")
        }
        # Utilisation changes in percentage points, where both periods measured it.
        now_util, then_util = cur["gpu_util_percent"], prev["gpu_util_percent"]
        change["gpu_util_points"] = (
            None if now_util is None or then_util is None else now_util - then_util
        )
        rows.append({"group": group, "current": cur, "previous": prev, "change": change})
    return rows


def drilldown(
    records: Sequence[Mapping[str, Any]],
    path: Sequence[str] = ("queue", "label:team", "tool"),
    *,
    top: int | None = None,
) -> dict[str, Any]:
    """A tree from the first key of ``path`` down to single jobs, children ranked by wasted
    GPU-hours (known waste, then GPU-hours held).

    With ``top``, every node keeps its ``top`` first children and counts the rest in ``more``.
    """
    tree = _node("all", "root", list(records), list(path))
    return tree if top is None else _prune(tree, top)


def _prune(node: dict[str, Any], top: int) -> dict[str, Any]:
    children = node.get("children") or []
    return {
        **node,
        "children": [_prune(c, top) for c in children[:top]],
        "more": max(0, len(children) - top),
    }


def _node(
    name: str, level: str, records: list[Mapping[str, Any]], path: list[str]
) -> dict[str, Any]:
    acc = _empty()
    for record in records:
        _add(acc, job_usage(record))
    node: dict[str, Any] = {"name": name, "level": level, **acc}
    if path:
        groups: dict[str, list[Mapping[str, Any]]] = {}
        for record in records:
            groups.setdefault(fields.group_key(record, path[0]), []).append(record)
        children = [_node(key, path[0], group, path[1:]) for key, group in groups.items()]
    else:
        children = []
        for record in records:
            usage = job_usage(record)
            children.append(
                {
                    "name": str(record.get("task_id")),
                    "level": "job",
                    "status": record.get("status"),
                    "gpu_hours": usage.gpu_hours,
                    "wasted_gpu_hours": usage.wasted_gpu_hours,
                }
            )
    node["children"] = sorted(
        children,
        key=lambda c: (-(c["wasted_gpu_hours"] or 0.0), -(c["gpu_hours"] or 0.0), c["name"]),
    )
    return node
