"""Kneedle knees, USL fits and SLO limits on curves with known answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from jobprobe.analysis import saturation, usl

Loader = Callable[[str], dict[str, Any]]
LOADS = [1, 2, 4, 6, 8, 10, 12, 16, 20, 24]


def test_knee_of_a_saturating_curve_is_where_it_flattens() -> None:
    xs = list(range(1, 17))
    result = saturation.knee(xs, [min(100 * x, 800) for x in xs])
    assert result.found and result.x == 8 and result.y == 800


def test_convex_latency_knee() -> None:
    xs = np.arange(1, 17)
    result = saturation.knee(xs, 5 + np.maximum(0, xs - 10) * 30.0, curve="convex")
    assert result.found and result.x == 10


def test_decreasing_convex_knee() -> None:
    xs = np.arange(1, 13)
    result = saturation.knee(
        xs, np.maximum(100 - 20 * xs, 20.0), direction="decreasing", curve="convex"
    )
    assert result.found and result.x == 4


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_linear_curve_has_no_knee(noise: float) -> None:
    rng = np.random.default_rng(3)
    xs = np.arange(1, 21, dtype=float)
    result = saturation.knee(xs, 50 * xs * (1 + rng.normal(0, noise, xs.size)))
    assert not result.found
    assert result.x is None and "straight line" in (result.reason or "")


def test_flat_curve_has_no_knee() -> None:
    result = saturation.knee([1, 2, 3, 4, 5], [7.0] * 5)
    assert not result.found and "flat" in (result.reason or "")


def test_too_few_points_has_no_knee() -> None:
    result = saturation.knee([1, 2, 3], [1, 4, 4])
    assert not result.found and "too few points" in (result.reason or "")


def test_knee_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        saturation.knee([1, 2, 3, 4], [1, 2])


def test_usl_fit_recovers_known_coefficients() -> None:
    rng = np.random.default_rng(42)
    n = np.array([1, 2, 4, 8, 12, 16, 24, 32, 48, 64], dtype=float)
    truth = usl.usl_model(n, 950.0, 0.04, 0.0006)
    fit = saturation.usl_fit(n, truth * (1 + rng.normal(0, 0.01, n.size)))
    assert fit.ok
    assert fit.lambda_ == pytest.approx(950.0, rel=0.10)
    assert fit.sigma == pytest.approx(0.04, rel=0.10)
    assert fit.kappa == pytest.approx(0.0006, rel=0.10)
    assert fit.r2 is not None and fit.r2 > 0.99
    expected_peak = np.sqrt((1 - 0.04) / 0.0006)
    assert fit.peak_n == pytest.approx(expected_peak, rel=0.10)
    assert fit.predict([1.0])[0] == pytest.approx(fit.lambda_)


def test_usl_fit_with_no_coherency_has_no_peak() -> None:
    n = np.array([1, 2, 4, 8, 16], dtype=float)
    fit = saturation.usl_fit(n, usl.usl_model(n, 100.0, 0.1, 0.0))
    assert fit.ok and fit.peak_n is None
    assert fit.sigma == pytest.approx(0.1, rel=0.05)


def test_usl_fit_needs_four_points() -> None:
    fit = saturation.usl_fit([1, 2, 4], [10, 19, 30])
    assert not fit.ok and "too few points" in (fit.reason or "")
    assert fit.predict([1.0]) == []


def test_slo_limit_interpolates_first_crossing() -> None:
    limit = saturation.slo_limit([1, 2, 3, 4], [10, 20, 40, 80], 30)
    assert limit.found and limit.interpolated and limit.x == pytest.approx(2.5)


def test_slo_limit_when_lowest_load_breaks_it_and_when_all_meet_it() -> None:
    never = saturation.slo_limit([1, 2, 3], [50, 60, 70], 30)
    assert not never.found and never.x is None and "lowest load" in (never.reason or "")
    always = saturation.slo_limit([1, 2, 3], [5, 6, 7], 30)
    assert always.found and always.x == 3 and not always.interpolated


def _sweep(profile: Loader, curve: Callable[[float], float]) -> list[dict[str, Any]]:
    record = profile("cpu_bound")
    points = []
    for value in LOADS:
        for repeat, wobble in enumerate((0.98, 1.0, 1.03)):
            throughput = curve(value) * wobble
            points.append(
                {
                    "value": value,
                    "repeat": repeat,
                    "throughput": throughput,
                    "p50_ms": 2.0 + value * 0.1,
                    "p99_ms": 10.0 + 8.0 * max(0, value - 10),
                    "record": record,
                }
            )
    return points


def test_sweep_report_aggregates_repeats_and_finds_knees(profile: Loader) -> None:
    points = _sweep(profile, lambda v: min(v, 10) * 100.0)
    report = saturation.sweep_report(points, slo_p99=20.0)
    first = report["points"][0]
    assert first["repeats"] == 3 and first["throughput"] == pytest.approx(100.0)
    assert report["throughput_knee"]["found"] and report["throughput_knee"]["x"] == 10
    assert report["latency_knee"]["found"] and report["latency_knee"]["x"] == 10
    assert report["usl"]["ok"]
    assert report["slo"]["found"] and report["slo"]["x"] == pytest.approx(11.25)
    assert report["saturation"]["resource"] == "cpu"
    assert report["saturation"]["verdict"] == "cpu"
    assert "records" not in first


def test_sweep_report_says_when_there_is_no_knee(profile: Loader) -> None:
    points = [dict(p, p99_ms=10.0) for p in _sweep(profile, lambda v: 40.0 * v)]
    report = saturation.sweep_report(points)
    assert not report["throughput_knee"]["found"]
    assert not report["latency_knee"]["found"]
    assert report["slo"] is None
    assert report["saturation"]["at"].startswith("highest load")


def test_sweep_throughput_falls_back_to_record_metrics(profile: Loader) -> None:
    record = profile("balanced")
    points = [
        {
            "value": v,
            "repeat": 0,
            "throughput": None,
            "p50_ms": None,
            "p99_ms": None,
            "record": record,
        }
        for v in (1, 2)
    ]
    report = saturation.sweep_report(points)
    assert report["points"][0]["throughput"] == record["metrics"]["throughput"]
    assert "too few points" in report["usl"]["reason"]
    assert report["latency_knee"]["reason"] == "no p99 latency figures"
