"""Sweeps: the listing and one sweep's report facts (curve points, saturation, knee, SLO, USL
fit), as ``sweep-report --json`` prints them (``queries.sweeps``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from jobprobe.web.deps import StoreDep

router = APIRouter(tags=["sweeps"])


@router.get("/sweeps")
def list_sweeps(
    store: StoreDep,
    limit: Annotated[int, Query(description="Sweeps (1 to 1000), newest first.")] = 20,
    status: Annotated[str | None, Query(description="running, done or failed.")] = None,
    tool: Annotated[str | None, Query(description="Only sweeps of this tool.")] = None,
) -> dict[str, Any]:
    """``{"sweeps": [...]}``: each sweep's record with ``created_at`` and its job counts."""
    from jobprobe.queries import sweeps

    return sweeps.list_sweeps(store, limit=limit, status=status, tool=tool)


@router.get("/sweeps/{sweep_id}")
def sweep_report(
    store: StoreDep,
    sweep_id: str,
    throughput_metric: Annotated[
        str | None, Query(description="The job metric that is throughput (default: found).")
    ] = None,
    latency_metric: Annotated[
        str | None, Query(description="The job metric that is p99 latency (default: found).")
    ] = None,
) -> dict[str, Any]:
    """The sweep's facts (``sweep-report --json``): per load the throughput and latency, the
    saturation point, the knee, the SLO limit, the USL fit and the saturating resource."""
    from jobprobe.queries import sweeps

    return sweeps.sweep_report(
        store, sweep_id, throughput_metric=throughput_metric, latency_metric=latency_metric
    )
