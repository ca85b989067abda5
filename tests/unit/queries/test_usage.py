"""queries.usage on both backends: trend, compare-periods and drill-down over finished jobs
(cancelled and running ones do not count), and the bad values each rejects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobprobe.queries import errors, usage
from jobprobe.queries.filters import JobFilters
from jobprobe.store import jobs as store_jobs
from jobprobe.store.db import Store
from jobprobe.store.status import JobStatus

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def ran(store: Store, *, ago_h: float, status: JobStatus, tool: str = "python") -> str:
    """A job that started ``ago_h`` hours before NOW and used 1800 CPU-seconds."""
    start = NOW - timedelta(hours=ago_h)
    with store.session() as s:
        job = store_jobs.create_job(
            s, tool=tool, queue="cpu", labels={"team": "cfd"}, submitted_at=start
        )
        store_jobs.set_status(s, job, status, at=start + timedelta(seconds=60))
        job.started_at, job.ended_at = start, start + timedelta(seconds=60)
        job.duration_s, job.cpu_total_s = 60.0, 1800.0
        return job.id


def test_usage_counts_finished_jobs_per_group_and_period(store: Store) -> None:
    ran(store, ago_h=2, status=JobStatus.SUCCESS)
    ran(store, ago_h=3, status=JobStatus.FAILED)
    ran(store, ago_h=30, status=JobStatus.SUCCESS)
    ran(store, ago_h=4, status=JobStatus.CANCELLED)  # neither succeeded nor failed: not counted
    trend = usage.trend(store, JobFilters(tool="python"), bucket="day", metric="jobs")
    assert (trend["by"], trend["bucket"], trend["metric"]) == ("tool", "day", "jobs")
    (group,) = trend["groups"]
    assert (group["group"], group["jobs"], group["failures"]) == ("python", 3, 1)
    assert group["cpu_hours"] == pytest.approx(1.5)
    assert sum(v or 0 for v in group["series"]) == 3

    periods = usage.compare_periods(store, days=1, now=NOW)
    (row,) = periods["groups"]
    assert (row["current"]["jobs"], row["previous"]["jobs"]) == (2, 1)
    assert row["change"]["jobs"] == pytest.approx(1.0)
    assert periods["now"] == NOW.isoformat()

    tree = usage.drilldown(store, path="queue, label:team", top=1)
    assert tree["path"] == ["queue", "label:team"]
    assert (tree["tree"]["jobs"], tree["tree"]["children"][0]["name"]) == (3, "cpu")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: usage.trend(s, bucket="week"), "bucket"),
        (lambda s: usage.trend(s, metric="joules"), "metric"),
        (lambda s: usage.compare_periods(s, days=0), "days"),
        (lambda s: usage.drilldown(s, top=0), "top"),
    ],
)
def test_bad_values_are_bad_filters(store: Store, call: Callable[[Store], Any], field: str) -> None:
    with pytest.raises(errors.BadFilter) as caught:
        call(store)
    assert caught.value.field == field
