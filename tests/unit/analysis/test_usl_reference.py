"""The USL fit against published reference data, in any units, and its refusals."""

from __future__ import annotations

import numpy as np
import pytest

from jobprobe.analysis import saturation, usl
from tests.unit.analysis import usl_data

#: name -> (sigma, kappa, peak load) as published (sources in tests/data/usl/*.csv).
PUBLISHED = {
    "specsdm91": (0.02773, 1.044e-4, 96.5),
    "cisco": (0.02671591, 7.690945e-4, None),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_coefficients_are_recovered_within_one_percent(name: str) -> None:
    sigma, kappa, peak = PUBLISHED[name]
    fit = saturation.usl_fit(*usl_data.load(name))
    assert fit.ok and fit.sigma is not None and fit.kappa is not None
    assert fit.sigma == pytest.approx(sigma, rel=0.01)
    assert fit.kappa == pytest.approx(kappa, rel=0.01)
    if peak is not None:
        assert fit.peak_n == pytest.approx(peak, rel=0.01)
    assert fit.sigma_se is not None and fit.kappa_se is not None and fit.kappa_se > 0


def test_cisco_lambda_matches_the_published_fit() -> None:
    fit = saturation.usl_fit(*usl_data.load("cisco"))
    assert fit.lambda_ == pytest.approx(995.6486, rel=0.01)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
@pytest.mark.parametrize("factor", [1e-3, 1e3, 2.5e4])
def test_the_fit_does_not_depend_on_the_loads_units(name: str, factor: float) -> None:
    xs, ys = usl_data.load(name)
    plain = saturation.usl_fit(xs, ys)
    scaled = saturation.usl_fit([x * factor for x in xs], ys)
    assert scaled.ok and scaled.r2 == pytest.approx(plain.r2, abs=1e-6)
    assert scaled.predict([x * factor for x in xs]) == pytest.approx(plain.predict(xs), rel=1e-4)
    assert plain.peak_n is not None and scaled.peak_n == pytest.approx(plain.peak_n * factor, 1e-4)


def test_the_fit_does_not_depend_on_the_throughputs_units() -> None:
    xs, ys = usl_data.load("specsdm91")
    fit = saturation.usl_fit(xs, [y / 3600 for y in ys])
    assert fit.sigma == pytest.approx(0.02773, rel=0.01)
    assert fit.kappa == pytest.approx(1.044e-4, rel=0.01)


def test_requests_per_second_loads_in_the_tens_of_thousands() -> None:
    loads = np.array([5e3, 1e4, 2e4, 3e4, 4e4, 6e4, 8e4])
    truth = usl.usl_model(loads / 1e3, 900.0, 0.05, 0.002)
    rng = np.random.default_rng(11)
    fit = saturation.usl_fit(loads, truth * (1 + rng.normal(0, 0.01, loads.size)))
    assert fit.ok and fit.r2 is not None and fit.r2 > 0.95
    assert fit.peak_n == pytest.approx(1e3 * np.sqrt(0.95 / 0.002), rel=0.1)


def test_a_fit_worse_than_a_flat_line_is_refused() -> None:
    rng = np.random.default_rng(5)
    loads = np.arange(1, 11, dtype=float)
    ys = 100 + 40 * np.where(loads % 2 == 0, 1.0, -1.0) + rng.normal(0, 1, loads.size)
    fit = saturation.usl_fit(loads, ys)
    assert not fit.ok and "flat line" in (fit.reason or "")


def test_a_peak_far_beyond_the_tested_loads_is_not_claimed() -> None:
    n = np.array([1, 2, 4, 8, 16], dtype=float)
    fit = saturation.usl_fit(n, usl.usl_model(n, 100.0, 0.02, 1e-6))
    assert fit.ok and fit.peak_n is None and "beyond" in (fit.peak_note or "")


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_the_peak_has_a_standard_error_in_the_loads_units(name: str) -> None:
    xs, ys = usl_data.load(name)
    plain = saturation.usl_fit(xs, ys)
    scaled = saturation.usl_fit([x * 1000 for x in xs], ys)
    assert plain.peak_n_se is not None and 0 < plain.peak_n_se < plain.peak_n  # type: ignore[operator]
    assert scaled.peak_n_se == pytest.approx(plain.peak_n_se * 1000, rel=1e-3)


def test_a_curve_falling_from_the_first_load_has_no_peak_and_says_the_fit_is_shaky() -> None:
    fit = saturation.usl_fit([1, 2, 3, 4, 6], [294.0, 95.1, 88.3, 97.1, 117.0])
    assert fit.peak_n is None and "below the smallest load" in (fit.peak_note or "")
    assert fit.well_determined is False


def test_published_fits_are_well_determined() -> None:
    assert saturation.usl_fit(*usl_data.load("specsdm91")).well_determined is True


def test_amdahl_data_have_no_coherency_and_a_determined_fit() -> None:
    n = np.array([1, 2, 4, 8, 16, 32], dtype=float)
    fit = saturation.usl_fit(n, usl.usl_model(n, 10.0, 0.1, 0.0))
    assert fit.sigma == pytest.approx(0.1, rel=1e-3) and fit.peak_n is None
    assert fit.peak_note == "no retrograde region (kappa = 0)" and fit.well_determined is True


def test_the_drawn_curve_is_the_fit_across_the_measured_loads() -> None:
    n = [1, 4, 8, 16, 32, 64]
    x = [100 * k / (1 + 0.05 * (k - 1) + 0.001 * k * (k - 1)) for k in n]
    fit = usl.usl_fit(n, x)
    curve = usl.usl_curve(fit, n)
    assert curve[0]["n"] == 1 and curve[-1]["n"] == 64
    assert fit.peak_n is not None and any(p["n"] == fit.peak_n for p in curve)
    assert len(curve) == usl.CURVE_POINTS + 1
    assert [p["throughput"] for p in curve] == fit.predict([p["n"] for p in curve])
    assert usl.usl_curve(usl.UslFit(False, reason="no fit"), n) == []
    assert usl.usl_curve(fit, [8, 8]) == []
