"""Usage over time, as ``trend``, ``compare-periods`` and ``drilldown --json`` print it: per
group CPU-hours, GPU-hours and wasted GPU-hours by bucket with their direction, this period
against the one before, and a tree that says where GPU-hours go. Finished jobs only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from jobprobe.analysis.trends import TREND_METRICS
from jobprobe.queries import errors
from jobprobe.queries.filters import JobFilters, ago

if TYPE_CHECKING:
    from jobprobe.store.db import Store
    from jobprobe.store.reading import Readable

Bucket = Literal["hour", "day"]
BUCKETS: tuple[Bucket, ...] = ("hour", "day")
#: The drill-down's levels when none are given.
DEFAULT_PATH = ("queue", "label:team", "tool")


def finished_records(store: Readable, **filters: Any) -> list[dict[str, Any]]:
    """Finished jobs' records (no samples) matching ``filters`` (those of
    ``store.job_reads.records_between``), oldest first."""
    from jobprobe.store import job_reads, records

    with store.reader() as reader:
        return [records.to_record(r) for r in job_reads.records_between(reader, **filters)]


def trend(
    store: Store, filters: JobFilters | None = None, *, by: str = "tool", bucket: str = "day",
    metric: str = "cpu_hours", plot: str | Path | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``{"by", "bucket", "metric", "buckets", "groups", "rows"}`` (and ``"plot"``, the PNG
    written, when ``plot`` names one): per group its totals, the series of ``metric`` per
    bucket and that series' direction. A bad bucket or metric is a ``BadFilter``."""
    from jobprobe.analysis import trends

    if bucket not in BUCKETS:
        raise errors.BadFilter(f"bucket must be hour or day (got {bucket!r})", field="bucket")
    if metric not in TREND_METRICS:
        raise errors.BadFilter(
            f"metric must be one of {', '.join(TREND_METRICS)} (got {metric!r})", field="metric"
        )
    usage = trends.usage_trend(
        finished_records(store, **(filters or JobFilters()).as_kwargs()),
        bucket="day" if bucket == "day" else "hour", by=by, metric=metric,
    )  # fmt: skip
    out: dict[str, Any] = {"by": by, "bucket": bucket, "metric": metric, **usage}
    if plot:
        from jobprobe.analysis import plots

        out["plot"] = str(plots.plot_trend(usage["rows"], plot, metric=metric))
    return out


def compare_periods(
    store: Store, *, days: float = 7.0, by: str = "tool", tool: str | None = None,
    queue: str | None = None, labels: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``{"by", "days", "now", "groups"}``: the last ``days`` against the ``days`` before, per
    group (``current``, ``previous`` and the relative ``change``, None where the earlier period
    had none). ``days`` must be positive (a ``BadFilter``)."""
    from jobprobe.analysis import trends

    now = now or datetime.now(UTC)
    since = ago(2 * days * 86400.0, field="days", unit="days", now=now)
    recs = finished_records(store, since=since, tool=tool, queue=queue, labels=labels or {})
    rows = trends.compare_periods(recs, period_days=days, now=now, by=by)
    return {"by": by, "days": days, "now": now.isoformat(), "groups": rows}


def drilldown(
    store: Store, filters: JobFilters | None = None, *, path: Sequence[str] | str = DEFAULT_PATH,
    top: int = 5,
) -> dict[str, Any]:  # fmt: skip
    """``{"path", "top", "tree"}``: queue -> label -> tool -> job (``path``: levels, or one
    comma-separated string), each node's children ranked by wasted GPU-hours, ``top`` kept
    and the rest counted in ``more``."""
    from jobprobe.analysis import trends

    levels = [p.strip() for p in path.split(",")] if isinstance(path, str) else list(path)
    levels = [p for p in levels if p]
    if top < 1:
        raise errors.BadFilter(f"top must be 1 or more (got {top})", field="top")
    recs = finished_records(store, **(filters or JobFilters()).as_kwargs())
    return {"path": levels, "top": top, "tree": trends.drilldown(recs, path=levels, top=top)}
