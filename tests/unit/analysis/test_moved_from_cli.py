"""What the command line used to compute itself: trend series per group, a pruned drill-down
tree, and a sweep's findings as data (the report's bullet list)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobprobe.analysis import report, saturation, trends

Loader = Callable[[str], dict[str, Any]]


def _at(record: dict[str, Any], when: datetime, tool: str) -> dict[str, Any]:
    out = copy.deepcopy(record)
    out["start_time"], out["tool"] = when.isoformat(), tool
    return out


def test_usage_trend_has_a_series_per_group_over_every_bucket(profile: Loader) -> None:
    t0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    cpu = profile("cpu_bound")
    records = [_at(cpu, t0 + timedelta(hours=h), "a") for h in (0, 1, 2, 3)]
    records.append(_at(cpu, t0 + timedelta(hours=2), "b"))
    usage = trends.usage_trend(records, bucket="hour", by="tool", metric="jobs")
    assert usage["buckets"] == [(t0 + timedelta(hours=h)).isoformat() for h in range(4)]
    groups = {g["group"]: g for g in usage["groups"]}
    assert groups["a"]["series"] == [1, 1, 1, 1] and groups["a"]["jobs"] == 4
    assert groups["b"]["series"] == [None, None, 1, None] and groups["b"]["jobs"] == 1
    assert groups["a"]["trend"]["direction"] == "flat" and groups["a"]["trend"]["slope"] == 0.0
    assert groups["a"]["cpu_hours"] == pytest.approx(4 * groups["b"]["cpu_hours"])
    assert usage["rows"] == trends.usage_over_time(records, bucket="hour", by="tool")


def test_usage_trend_rejects_an_unknown_metric(profile: Loader) -> None:
    with pytest.raises(ValueError, match="metric"):
        trends.usage_trend([profile("cpu_bound")], metric="joules")


def test_drilldown_keeps_the_top_children_and_counts_the_rest(profile: Loader) -> None:
    records = [profile(name) for name in ("idle", "gpu_bound", "cpu_bound", "memory_bound")]
    full = trends.drilldown(records, ["queue", "tool"])
    top = trends.drilldown(records, ["queue", "tool"], top=1)
    assert [c["name"] for c in top["children"]] == [full["children"][0]["name"]]
    assert top["more"] == len(full["children"]) - 1
    leaf_parent = top["children"][0]["children"][0]
    assert len(leaf_parent["children"]) == 1
    assert leaf_parent["more"] == len(full["children"][0]["children"][0]["children"]) - 1
    assert "more" not in full


def test_sweep_findings_are_the_report_bullets(profile: Loader) -> None:
    record = profile("cpu_bound")
    points = [
        {"value": v, "repeat": 0, "throughput": 100.0 * min(v, 8), "p50_ms": 2.0,
         "p99_ms": 5.0 + 6.0 * max(0, v - 8), "record": record}
        for v in (1, 2, 4, 6, 8, 10, 12, 16)
    ]  # fmt: skip
    facts = report.sweep_facts(saturation.sweep_report(points, slo_p99=20.0))
    findings = report.sweep_findings(facts)
    assert findings[0].startswith("Throughput saturation: at load 8")
    assert any(f.startswith("USL: lambda") for f in findings)
    assert any(f.startswith("SLO p99 <= 20 ms") for f in findings)
    bullets = [line for line in report.render_markdown(facts).splitlines() if line.startswith("- ")]
    assert bullets == [f"- {f}" for f in findings]
