"""Usage over time: the trend, this period against the last, the drill-down ranked by wasted
GPU-hours (``trend``, ``compare-periods``, ``drilldown --json``; ``queries.usage``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from jobprobe.web.api.filters import FiltersDep
from jobprobe.web.deps import StoreDep

router = APIRouter(tags=["usage"])

By = Annotated[str, Query(description="tool, queue, worker, status, source or label:KEY")]


@router.get("/usage/trend")
def trend(
    store: StoreDep,
    filters: FiltersDep,
    by: By = "tool",
    bucket: Annotated[str, Query(description="hour or day.")] = "day",
    metric: Annotated[
        str, Query(description="cpu_hours, gpu_hours, wasted_gpu_hours, ...")
    ] = "cpu_hours",
) -> dict[str, Any]:
    """Per group its totals, the series of ``metric`` per bucket and its direction."""
    from jobprobe.queries import usage

    return usage.trend(store, filters.value, by=by, bucket=bucket, metric=metric)


@router.get("/usage/compare-periods")
def compare_periods(
    store: StoreDep,
    days: Annotated[float, Query(description="Length of each period in days.")] = 7.0,
    by: By = "tool",
    tool: Annotated[str | None, Query(description="Only jobs of this tool.")] = None,
    queue: Annotated[str | None, Query(description="Only jobs of this queue.")] = None,
    label: Annotated[list[str] | None, Query(description="KEY=VALUE (repeatable).")] = None,
) -> dict[str, Any]:
    """The last ``days`` against the ``days`` before, per group, with the relative change."""
    from jobprobe.queries import usage
    from jobprobe.queries.filters import parse_pairs

    labels = parse_pairs(label or (), "label", field="labels")
    return usage.compare_periods(store, days=days, by=by, tool=tool, queue=queue, labels=labels)


@router.get("/usage/drilldown")
def drilldown(
    store: StoreDep,
    filters: FiltersDep,
    path: Annotated[str, Query(description="Levels, comma-separated.")] = "queue,label:team,tool",
    top: Annotated[int, Query(description="Children kept per node (the rest counted).")] = 5,
) -> dict[str, Any]:
    """A tree (queue -> label -> tool -> job by default), each node's children ranked by wasted
    GPU-hours."""
    from jobprobe.queries import usage

    return usage.drilldown(store, filters.value, path=path, top=top)
