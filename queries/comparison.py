"""Comparisons as ``compare --json`` prints them: job A against job B, or a baseline label group
against a candidate group, metric by metric, with the verdict (regressed, unconfirmed or not)
a one-sided test or the thresholds give."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jobprobe.queries import errors

if TYPE_CHECKING:
    from jobprobe.analysis.regression import Thresholds
    from jobprobe.store.db import Store

#: Threshold names (``--threshold NAME=VALUE``) and the ``regression.Thresholds`` field each
#: sets: percentages, except success (points) and alpha (the test's level).
THRESHOLD_FIELDS = {
    "duration": "duration_pct", "memory": "memory_pct", "cost": "cost_pct",
    "latency": "latency_pct", "throughput": "throughput_pct",
    "success": "success_rate_points", "alpha": "alpha",
}  # fmt: skip


def thresholds(values: Mapping[str, Any], *, what: str = "--threshold") -> Thresholds:
    """Regression thresholds from ``{name: number}`` (names of ``THRESHOLD_FIELDS``); an
    unknown name or a value that is not a number is a ``BadFilter``."""
    from jobprobe.analysis import regression

    fields: dict[str, Any] = {}
    for name, raw in values.items():
        if name not in THRESHOLD_FIELDS:
            raise errors.BadFilter(
                f"unknown {what} {name!r}; use {', '.join(THRESHOLD_FIELDS)}", field="thresholds"
            )
        try:
            fields[THRESHOLD_FIELDS[name]] = float(raw)
        except (TypeError, ValueError):
            raise errors.BadFilter(
                f"{what} {name}={raw!r} is not a number", field="thresholds"
            ) from None
    return regression.Thresholds(**fields)


def compare(
    store: Store, jobs: Sequence[str], baseline_labels: Mapping[str, Any],
    candidate_labels: Mapping[str, Any], *, tool: str | None = None,
    thresholds: Thresholds | None = None, usage: str = "give two job ids or two label groups",
) -> dict[str, Any]:  # fmt: skip
    """Job A against job B (``jobs`` exactly two, no labels), or the baseline label group
    against the candidate group (both given, no jobs): ``compare_jobs`` or ``compare_groups``.
    Anything else is a ``BadFilter`` saying ``usage`` (how the caller's options are named)."""
    if jobs:
        if len(jobs) != 2 or baseline_labels or candidate_labels:
            raise errors.BadFilter(usage, field="jobs")
        return compare_jobs(store, [jobs[0]], [jobs[1]], thresholds=thresholds)
    if not baseline_labels or not candidate_labels:
        raise errors.BadFilter(usage, field="labels")
    return compare_groups(
        store, baseline_labels, candidate_labels, tool=tool, thresholds=thresholds
    )


def compare_jobs(
    store: Store, baseline_ids: Sequence[str], candidate_ids: Sequence[str], *,
    thresholds: Thresholds | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The comparison facts of two sets of jobs (ids or unique prefixes): per metric the two
    sides, the relative change, p-value and status; ``regressed``, ``regressions``,
    ``unconfirmed``, the run counts and ``baseline_ids``/``candidate_ids`` (full ids)."""
    from jobprobe.analysis import regression, report
    from jobprobe.store import records

    if not baseline_ids or not candidate_ids:
        raise errors.BadFilter("give at least one job on each side", field="jobs")
    with store.session() as session:
        sides = []
        for ids in (baseline_ids, candidate_ids):
            side = []
            for job_id in ids:
                with errors.looked_up(job_id):
                    side.append(records.load_record(session, job_id))
            sides.append(side)
    base, cand = sides
    facts = report.comparison_facts(regression.compare(base, cand, thresholds=thresholds))
    facts["baseline_ids"] = [r["task_id"] for r in base]
    facts["candidate_ids"] = [r["task_id"] for r in cand]
    return facts


def label_group(store: Store, labels: Mapping[str, Any], *, tool: str | None = None) -> list[str]:
    """The ids of the finished jobs that have all these labels (and are of ``tool``), oldest
    first."""
    from jobprobe.store import job_reads

    with store.reader() as reader:
        return [r["id"] for r in job_reads.records_between(reader, labels=dict(labels), tool=tool)]


def compare_groups(
    store: Store, baseline_labels: Mapping[str, Any], candidate_labels: Mapping[str, Any], *,
    tool: str | None = None, thresholds: Thresholds | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``compare_jobs`` of the finished jobs of two label groups (see ``label_group``); a group
    with no finished job is a ``BadFilter``."""
    if not baseline_labels or not candidate_labels:
        raise errors.BadFilter("give the labels of both groups", field="labels")
    base = label_group(store, baseline_labels, tool=tool)
    cand = label_group(store, candidate_labels, tool=tool)
    if not base or not cand:
        side = "baseline" if not base else "candidate"
        raise errors.BadFilter(f"no finished jobs in the {side} group", field=f"{side}_labels")
    return compare_jobs(store, base, cand, thresholds=thresholds)
