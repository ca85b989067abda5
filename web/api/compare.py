"""Compare two jobs, or two label groups (``compare --json``, ``queries.comparison``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from jobprobe.web.deps import StoreDep

router = APIRouter(tags=["compare"])

TWO_SIDES = "give two job ids (a and b) or baseline_label and candidate_label (KEY=VALUE)"


@router.get("/compare")
def compare(
    store: StoreDep,
    a: Annotated[str | None, Query(description="Baseline job id (or 6+ characters).")] = None,
    b: Annotated[str | None, Query(description="Candidate job id.")] = None,
    baseline_label: Annotated[
        list[str] | None, Query(description="KEY=VALUE of the baseline group (repeatable).")
    ] = None,
    candidate_label: Annotated[
        list[str] | None, Query(description="KEY=VALUE of the candidate group (repeatable).")
    ] = None,
    tool: Annotated[str | None, Query(description="Only jobs of this tool (groups).")] = None,
    threshold: Annotated[
        list[str] | None,
        Query(
            description="NAME=VALUE: duration, memory, cost, latency, throughput (%), "
            "success (points) or alpha (repeatable)."
        ),
    ] = None,
) -> dict[str, Any]:
    """Per metric the two sides, the change, its p-value and status; ``regressed``,
    ``regressions``, ``unconfirmed`` (a change one run a side cannot confirm)."""
    from jobprobe.queries import comparison
    from jobprobe.queries.filters import parse_pairs

    limits = comparison.thresholds(
        parse_pairs(threshold or (), "threshold", field="threshold"), what="threshold"
    )
    return comparison.compare(
        store, [side for side in (a, b) if side],
        parse_pairs(baseline_label or (), "baseline_label", field="baseline_label"),
        parse_pairs(candidate_label or (), "candidate_label", field="candidate_label"),
        tool=tool, thresholds=limits, usage=TWO_SIDES,
    )  # fmt: skip
