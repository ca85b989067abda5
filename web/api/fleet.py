"""The pool: the registered tools, the workers the store saw lately and the queue lengths
(``queries.fleet``: no broker is asked, so this answers while it is down)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from jobprobe.web.deps import SettingsDep, StoreDep

router = APIRouter(tags=["pool"])

EMBEDDED = (
    "embedded mode (JOBPROBE_BROKER_URL unset): jobs run inside the process that submits them"
)


@router.get("/tools")
def tools(settings: SettingsDep) -> dict[str, dict[str, Any]]:
    """The registered tools: name to kind, command, image, queue, timeout, gpus, description."""
    from jobprobe.queries import jobs

    return jobs.tools(settings)


@router.get("/workers")
def workers(
    store: StoreDep,
    settings: SettingsDep,
    within_s: Annotated[
        float, Query(description="Workers that held or changed a job this many seconds back.")
    ] = 3600.0,
) -> dict[str, Any]:
    """``{"mode", "note", "since", "workers", "queues"}``: the workers seen lately (running
    jobs, jobs changed, queues, last seen) and per queue the jobs waiting and running."""
    from jobprobe.queries import fleet

    seen = fleet.workers_seen(store, within_s=within_s)
    return {
        "mode": "embedded" if settings.embedded else "distributed",
        "note": EMBEDDED if settings.embedded else None,
        **seen,
        **fleet.queue_lengths(store),
    }
