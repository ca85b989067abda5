"""Usage over time, trend direction, period comparison and the wasted-GPU drill-down."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobprobe.analysis import stats, trends

Loader = Callable[[str], dict[str, Any]]


def _at(record: dict[str, Any], when: datetime) -> dict[str, Any]:
    out = copy.deepcopy(record)
    out["start_time"] = when.isoformat()
    return out


@pytest.fixture
def fleet(profile: Loader) -> list[dict[str, Any]]:
    t0 = datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
    return [
        _at(profile("idle"), t0),
        _at(profile("gpu_bound"), t0 + timedelta(minutes=10)),
        _at(profile("missing_gpu"), t0 + timedelta(hours=1)),
        _at(profile("cpu_bound"), t0 + timedelta(hours=1, minutes=5)),
        _at(profile("memory_bound"), t0 + timedelta(days=1)),
    ]


def test_job_usage_wasted_gpu_hours() -> None:
    record = {
        "gpus": 2,
        "duration_seconds": 3600.0,
        "detailed_profile": {
            "gpu_stats": {"nvidia": [{"mean_util_percent": 25.0}, {"mean_util_percent": 75.0}]}
        },
    }
    usage = trends.job_usage(record)
    assert usage.gpu_hours == pytest.approx(2.0)
    assert usage.wasted_gpu_hours == pytest.approx(1.0)


def test_usage_over_time_by_hour_and_queue(fleet: list[dict[str, Any]]) -> None:
    rows = trends.usage_over_time(fleet, bucket="hour", by="queue")
    first = next(r for r in rows if r["bucket"] == "2026-11-20T10:00:00+00:00")
    assert first["group"] == "gpu" and first["jobs"] == 2
    assert first["wasted_gpu_hours"] == pytest.approx(2 * 600 / 3600 * (1 - 0.0295), rel=0.05)
    eleven_gpu = next(
        r for r in rows if r["bucket"] == "2026-11-20T11:00:00+00:00" and r["group"] == "gpu"
    )
    assert eleven_gpu["gpu_unknown_jobs"] == 1 and eleven_gpu["wasted_gpu_hours"] == 0.0
    assert sum(r["jobs"] for r in rows) == len(fleet)
    failures = sum(r["failures"] for r in rows)
    assert failures == 1


def test_usage_by_day_and_label(fleet: list[dict[str, Any]]) -> None:
    rows = trends.usage_over_time(fleet, bucket="day", by="label:team")
    assert {r["bucket"][:10] for r in rows} == {"2026-11-20", "2026-11-21"}
    assert {r["group"] for r in rows} >= {"ml", "search", "cfd"}
    with pytest.raises(ValueError, match="bucket"):
        trends.usage_over_time(fleet, bucket="week")  # type: ignore[arg-type]


def test_trend_direction() -> None:
    assert trends.trend_direction([1, 2, 3, 4, 5, 6.5]).direction == "rising"
    assert trends.trend_direction([9, 8, 7.2, 6, 5]).direction == "falling"
    noisy = trends.trend_direction([5, 7, 4, 6, 5, 6, 4])
    assert noisy.direction == "flat" and noisy.p_value is not None and noisy.p_value > 0.05
    assert trends.trend_direction([3, 3, 3]).slope == 0.0
    short = trends.trend_direction([1, 2])
    assert short.direction == "flat" and short.p_value is None


def test_compare_periods(fleet: list[dict[str, Any]]) -> None:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    rows = {r["group"]: r for r in trends.compare_periods(fleet, period_days=1, now=now)}
    assert rows["lammps"]["current"]["jobs"] == 1 and rows["lammps"]["previous"]["jobs"] == 0
    assert rows["lammps"]["change"]["jobs"] is None
    assert rows["pytorch-train"]["previous"]["jobs"] == 2
    assert rows["pytorch-train"]["change"]["jobs"] == pytest.approx(-1.0)


def test_drilldown_ranks_by_wasted_gpu_hours(fleet: list[dict[str, Any]]) -> None:
    tree = trends.drilldown(fleet, ["queue", "label:team", "tool"])
    assert tree["jobs"] == len(fleet)
    assert [c["name"] for c in tree["children"]] == ["gpu", "cpu"]
    gpu = tree["children"][0]
    assert gpu["children"][0]["name"] == "search"
    assert gpu["gpu_unknown_jobs"] == 1
    leaf = gpu["children"][0]["children"][0]["children"][0]
    assert leaf["level"] == "job" and leaf["name"] == "job-idle"
    ml_jobs = gpu["children"][1]["children"][0]["children"]
    assert any(j["wasted_gpu_hours"] is None for j in ml_jobs)


def test_job_stats(fleet: list[dict[str, Any]]) -> None:
    result = stats.job_stats(fleet, by="queue")
    overall = result["overall"]
    assert overall["jobs"] == 5 and overall["by_status"] == {"failed": 1, "success": 4}
    assert overall["success_rate"] == pytest.approx(0.8)
    assert overall["duration_p50_s"] == 200.0
    assert set(result["groups"]) == {"cpu", "gpu"}
    assert stats.job_stats([])["overall"]["success_rate"] is None


def test_success_rate_counts_finished_jobs_only(fleet: list[dict[str, Any]]) -> None:
    fleet[0]["status"] = "cancelled"  # stopped by a person: neither success nor failure
    fleet[1]["status"] = "running"
    overall = stats.job_stats(fleet)["overall"]
    assert overall["success_rate"] == pytest.approx(2 / 3)


def test_percentile_interpolates_linearly() -> None:
    assert stats.percentile(list(range(101)), 95) == 95
    assert stats.percentile([1.0, 2.0], 50) == 1.5
    assert stats.percentile([4.0], 99) == 4.0
    assert stats.percentile([], 50) is None


def _gpu_job(util: float | None, when: datetime, hours: float = 1.0) -> dict[str, Any]:
    gpu_stats = {"nvidia": [{"mean_util_percent": util}]} if util is not None else {}
    return {
        "task_id": f"job-{util}-{when.isoformat()}", "tool": "train", "queue": "gpu", "gpus": 1,
        "status": "success", "duration_seconds": hours * 3600.0,
        "start_time": when.isoformat(), "detailed_profile": {"gpu_stats": gpu_stats},
    }  # fmt: skip


def test_gpu_utilisation_weighs_measured_gpu_hours_and_skips_unmeasured_ones() -> None:
    t0 = datetime(2026, 11, 20, 10, tzinfo=UTC)
    jobs = [_gpu_job(50.0, t0), _gpu_job(80.0, t0, hours=3.0), _gpu_job(None, t0)]
    (row,) = trends.usage_over_time(jobs, bucket="day", by="queue")
    # (0.5 x 1 + 0.8 x 3) / 4 measured GPU-hours = 72.5 %; the unmeasured job is not a 0.
    assert row["gpu_util_percent"] == pytest.approx(72.5)
    assert row["gpu_hours"] == pytest.approx(5.0) and row["measured_gpu_hours"] == pytest.approx(
        4.0
    )
    assert row["gpu_unknown_jobs"] == 1
    (unmeasured,) = trends.usage_over_time([_gpu_job(None, t0)], bucket="day", by="queue")
    assert unmeasured["gpu_util_percent"] is None


def test_utilisation_trend_and_period_change_in_points() -> None:
    t0 = datetime(2026, 11, 20, 10, tzinfo=UTC)
    days = [t0 + timedelta(days=i) for i in range(4)]
    jobs = [_gpu_job(u, d) for u, d in zip((90.0, 70.0, 50.0, 30.0), days, strict=True)]
    jobs.insert(2, _gpu_job(None, days[1] + timedelta(hours=1)))  # unknown: left out, not 0
    result = trends.usage_trend(jobs, bucket="day", by="queue", metric="gpu_util_percent")
    (group,) = result["groups"]
    assert group["series"] == pytest.approx([90.0, 70.0, 50.0, 30.0])
    assert group["trend"]["direction"] == "falling"
    assert group["gpu_util_percent"] == pytest.approx(60.0)
    rows = trends.compare_periods(jobs, period_days=2, now=days[3] + timedelta(hours=1), by="queue")
    (queue,) = rows
    assert queue["current"]["gpu_util_percent"] == pytest.approx(40.0)
    assert queue["previous"]["gpu_util_percent"] == pytest.approx(80.0)
    assert queue["change"]["gpu_util_points"] == pytest.approx(-40.0)
