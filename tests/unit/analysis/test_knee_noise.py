""" "No knee" is decided against the noise: flat and straight noisy curves get none over many
seeded trials, real knees under the same noise are still found."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from jobprobe.analysis import saturation, usl

LOADS = np.array([1, 2, 4, 6, 8, 10, 12, 16, 20, 24], dtype=float)
SHORT = np.array([1, 2, 3, 4, 6, 8], dtype=float)
TRIALS = 400
Curve = Callable[[np.ndarray], np.ndarray]


def _found(shape: Curve, loads: np.ndarray, noise: float, seed: int, **kw: str) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(TRIALS):
        ys = shape(loads) * (1 + rng.normal(0, noise, loads.size))
        hits += saturation.knee(loads, ys, **kw).found  # type: ignore[arg-type]
    return hits / TRIALS


@pytest.mark.parametrize("loads", [LOADS, SHORT], ids=["10 loads", "6 loads"])
@pytest.mark.parametrize("noise", [0.005, 0.02, 0.05])
@pytest.mark.parametrize("curve", ["concave", "convex"])
def test_flat_noisy_curves_get_no_knee(loads: np.ndarray, noise: float, curve: str) -> None:
    rate = _found(lambda x: np.full(x.shape, 100.0), loads, noise, seed=1, curve=curve)
    assert rate <= 0.015


@pytest.mark.parametrize("loads", [LOADS, SHORT], ids=["10 loads", "6 loads"])
@pytest.mark.parametrize("noise", [0.01, 0.05])
@pytest.mark.parametrize("curve", ["concave", "convex"])
def test_straight_noisy_lines_get_no_knee(loads: np.ndarray, noise: float, curve: str) -> None:
    rate = _found(lambda x: 5 + 10 * x, loads, noise, seed=2, curve=curve)
    assert rate <= 0.02


@pytest.mark.parametrize("noise", [0.005, 0.02, 0.05])
def test_a_saturating_throughput_knee_is_found_through_noise(noise: float) -> None:
    rate = _found(lambda x: np.minimum(100 * x, 1000.0), LOADS, noise, seed=3)
    assert rate >= 0.95


@pytest.mark.parametrize("noise", [0.005, 0.02, 0.05])
def test_a_latency_knee_is_found_through_noise(noise: float) -> None:
    rate = _found(lambda x: 5 + np.maximum(0, x - 10) * 30, LOADS, noise, seed=4, curve="convex")
    assert rate >= 0.95


def test_a_usl_curve_knee_is_found_through_noise() -> None:
    rate = _found(lambda x: usl.usl_model(x, 100, 0.05, 0.01), LOADS, 0.05, seed=5)
    assert rate >= 0.95


def test_a_knee_within_the_noise_says_so() -> None:
    rng = np.random.default_rng(9)
    for _ in range(50):
        result = saturation.knee(SHORT, 100 * (1 + rng.normal(0, 0.02, SHORT.size)))
        if result.reason and "within the noise" in result.reason:
            assert result.p_value is not None and result.p_value >= saturation.KNEE_ALPHA
            return
    pytest.fail("no trial reached the noise test")


def _sweep_rate(shape: Curve, repeats: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(200):
        points = [
            {"value": v, "throughput": float(shape(np.asarray(v)) * (1 + rng.normal(0, 0.05))),
             "record": {}}
            for v in SHORT for _ in range(repeats)
        ]  # fmt: skip
        hits += saturation.sweep_report(points)["throughput_knee"]["found"]
    return hits / 200


def test_repeats_give_the_knee_test_its_noise() -> None:
    def knee_shape(x: np.ndarray) -> np.ndarray:
        return np.minimum(100 * x, 400.0)

    assert _sweep_rate(knee_shape, repeats=3, seed=6) >= 0.95
    assert _sweep_rate(knee_shape, repeats=3, seed=6) > _sweep_rate(knee_shape, repeats=1, seed=6)
    assert _sweep_rate(lambda x: np.full(x.shape, 100.0), repeats=3, seed=7) <= 0.02
