"""Regression detection: noise is not flagged, real slowdowns and edge cases are."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

import pytest

from jobprobe.analysis import regression

Loader = Callable[[str], dict[str, Any]]


def _runs(base: dict[str, Any], *, slowdown: float, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` copies of ``base`` with +-5 % noise around ``slowdown`` x its cost."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        run = copy.deepcopy(base)
        factor = slowdown * (1 + rng.uniform(-0.05, 0.05))
        run["duration_seconds"] *= factor
        run["resource_usage"]["cpu_total_seconds"] *= factor
        run["metrics"]["throughput"] /= factor
        run["metrics"]["p99_ms"] *= factor
        out.append(run)
    return out


def _row(comparison: regression.Comparison, name: str) -> regression.MetricRow:
    return next(r for r in comparison.rows if r.name == name)


def test_noisy_repeats_with_the_same_mean_are_not_flagged(profile: Loader) -> None:
    base = profile("balanced")
    for seed in range(5):
        result = regression.compare(
            _runs(base, slowdown=1.0, n=5, seed=seed),
            _runs(base, slowdown=1.0, n=5, seed=seed + 100),
        )
        assert not result.regressed, [(r.name, r.status) for r in result.rows]


def test_noise_past_the_threshold_without_significance_is_noise(profile: Loader) -> None:
    base = profile("balanced")
    baseline = _runs(base, slowdown=1.0, n=3, seed=1)
    candidate = copy.deepcopy(baseline)
    durations = [100.0, 101.0, 140.0]
    for run, d in zip(baseline, [100.0, 130.0, 101.0], strict=True):
        run["duration_seconds"] = d
    for run, d in zip(candidate, durations, strict=True):
        run["duration_seconds"] = d
    row = _row(regression.compare(baseline, candidate), "duration_seconds")
    assert row.relative_change is not None and row.relative_change > 0.02
    assert row.status in ("ok", "noise")


def test_a_real_25_percent_slowdown_is_flagged(profile: Loader) -> None:
    base = profile("balanced")
    result = regression.compare(
        _runs(base, slowdown=1.0, n=5, seed=1), _runs(base, slowdown=1.25, n=5, seed=2)
    )
    assert result.regressed
    duration = _row(result, "duration_seconds")
    assert duration.status == "regressed"
    assert duration.p_value is not None and duration.p_value < 0.05
    assert duration.relative_change == pytest.approx(0.25, abs=0.06)
    assert _row(result, "metrics.throughput").status == "regressed"
    assert _row(result, "metrics.p99_ms").status == "regressed"
    assert {r.name for r in result.regressions} >= {"duration_seconds", "cpu_seconds"}


def test_single_runs_past_the_threshold_are_unconfirmed(profile: Loader) -> None:
    base = profile("balanced")
    slow = copy.deepcopy(base)
    slow["duration_seconds"] = base["duration_seconds"] * 1.2
    result = regression.compare([base], [slow])
    row = _row(result, "duration_seconds")
    assert row.status == "unconfirmed" and row.p_value is None and "--repeat" in (row.reason or "")
    assert not result.regressed and row in result.unconfirmed


def test_an_improvement_is_not_a_regression(profile: Loader) -> None:
    base = profile("balanced")
    result = regression.compare(
        _runs(base, slowdown=1.0, n=4, seed=1), _runs(base, slowdown=0.7, n=4, seed=2)
    )
    assert not result.regressed
    assert _row(result, "duration_seconds").status == "improved"


def test_zero_baseline_is_a_new_cost_without_relative_change(profile: Loader) -> None:
    cpu_job = profile("cpu_bound")
    gpu_job = profile("gpu_bound")
    cpu_job["metrics"] = {}
    gpu_job["metrics"] = {}
    row = _row(regression.compare([cpu_job] * 3, [gpu_job] * 3), "gpu_seconds")
    assert row.baseline == 0.0 and row.candidate is not None and row.candidate > 0
    assert row.status == "new_cost" and row.relative_change is None
    single = _row(regression.compare([cpu_job], [gpu_job]), "gpu_seconds")
    assert single.status == "unconfirmed"
    assert "baseline was 0" in (row.reason or "")


def test_zero_on_both_sides_is_ok(profile: Loader) -> None:
    row = _row(regression.compare([profile("cpu_bound")], [profile("cpu_bound")]), "gpu_seconds")
    assert row.status == "ok" and row.relative_change is None


def test_missing_metric_is_not_comparable_with_reason(profile: Loader) -> None:
    baseline = [profile("cpu_bound")]
    candidate = [profile("cpu_bound")]
    candidate[0]["metrics"] = {}
    result = regression.compare(baseline, candidate)
    row = _row(result, "metrics.throughput")
    assert row.status == "not_comparable"
    assert row.reason == "missing in the candidate (0 of 1 runs have it)"
    energy = _row(result, "gpu_energy_j")
    assert energy.status == "not_comparable" and "missing" in (energy.reason or "")
    assert not result.regressed


def test_success_rate_drop_is_flagged(profile: Loader) -> None:
    base = profile("balanced")
    baseline = _runs(base, slowdown=1.0, n=4, seed=1)
    candidate = _runs(base, slowdown=1.0, n=4, seed=2)
    candidate[0]["status"] = "failed"
    result = regression.compare(baseline, candidate)
    row = _row(result, "success_rate_percent")
    assert row.baseline == 100.0 and row.candidate == 75.0
    assert row.status == "regressed" and result.regressed


def test_thresholds_are_configurable(profile: Loader) -> None:
    base = profile("balanced")
    slow = copy.deepcopy(base)
    slow["duration_seconds"] = base["duration_seconds"] * 1.2
    lenient = regression.Thresholds(duration_pct=30.0)
    assert (
        _row(regression.compare([base], [slow], thresholds=lenient), "duration_seconds").status
        == "ok"
    )


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("throughput", "higher_is_better"),
        ("requests_per_s", "higher_is_better"),
        ("p99_ms", "lower_is_better"),
        ("error_rate", "lower_is_better"),
        ("latency_mean", "lower_is_better"),
        ("requests", "unknown"),
    ],
)
def test_metric_direction_naming_rule(name: str, direction: str) -> None:
    assert regression.metric_direction(name) == direction


def test_unknown_direction_is_reported_not_judged(profile: Loader) -> None:
    base = profile("balanced")
    more = copy.deepcopy(base)
    more["metrics"]["requests"] = base["metrics"]["requests"] * 2
    row = _row(regression.compare([base], [more]), "metrics.requests")
    assert row.status == "info" and row.relative_change == pytest.approx(1.0)


def test_comparison_to_dict(profile: Loader) -> None:
    data = regression.compare([profile("balanced")], [profile("balanced")]).to_dict()
    assert data["subject"] == "comparison" and data["regressed"] is False
    assert data["rows"][0]["name"] == "success_rate_percent"


def test_the_test_is_one_sided_in_the_direction_of_worse(profile: Loader) -> None:
    base = profile("balanced")
    runs = _runs(base, slowdown=1.0, n=3, seed=7)
    faster = _runs(base, slowdown=0.5, n=3, seed=8)
    row = _row(regression.compare(runs, faster), "duration_seconds")
    assert row.p_value is not None and row.p_value > 0.5 and row.status == "improved"
