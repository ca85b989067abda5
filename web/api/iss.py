"""The ISS jobs the store mirrors beside local ones (``queries.iss.tracked_jobs``; nothing is
asked of ISS itself)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from jobprobe.web.api.filters import FiltersDep
from jobprobe.web.deps import StoreDep

router = APIRouter(tags=["iss"])


@router.get("/iss/jobs")
def iss_jobs(
    store: StoreDep,
    filters: FiltersDep,
    limit: Annotated[int, Query(description="Jobs per page (1 to 10000).")] = 20,
    cursor: Annotated[str | None, Query(description="next_cursor of the page before.")] = None,
) -> dict[str, Any]:
    """``{"jobs", "next_cursor"}``: the mirrored ISS jobs, newest first (``external_id`` is
    the ISS id)."""
    from jobprobe.queries import iss

    return iss.tracked_jobs(store, filters.value, limit=limit, cursor=cursor)
