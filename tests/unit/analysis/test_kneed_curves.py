"""kneed's own test curves (kneed 0.9.0, ``kneed/data_generator.py``, PyPI) and the knees its
test suite expects: the noise test must not hide a knee on clean published curves."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest

from jobprobe.analysis import saturation

X = np.arange(10, dtype=float)
CURVES: dict[str, tuple[list[float], Literal["increasing", "decreasing"], Literal["concave", "convex"], float]] = {
    "concave_increasing": ([0, 60, 80, 85, 90, 95, 96, 97, 98, 99], "increasing", "concave", 2),
    "concave_decreasing": ([99, 98, 97, 96, 95, 90, 85, 80, 60, 0], "decreasing", "concave", 7),
    "convex_increasing": ([1, 2, 3, 4, 5, 10, 15, 20, 40, 100], "increasing", "convex", 7),
    "convex_decreasing": ([100, 40, 20, 15, 10, 5, 4, 3, 2, 1], "decreasing", "convex", 2),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CURVES))
def test_kneeds_curves_give_kneeds_knees(name: str) -> None:
    ys, direction, curve, expected = CURVES[name]
    result = saturation.knee(X, ys, direction=direction, curve=curve)
    assert result.found and result.x == expected


def test_the_kneedle_papers_figure_2() -> None:
    xs = np.linspace(0.0, 1.0, 10)
    result = saturation.knee(xs, -1.0 / (xs + 0.1) + 5)
    assert result.found and result.x == pytest.approx(0.222, abs=1e-3)
