"""The Universal Scalability Law: its model and a fit that does not depend on the load's units.

``usl_fit`` returns a :class:`UslFit` that says when there is no answer (``ok`` false, with a
``reason``): a fit no better than a flat line, or too few points.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

#: Fewer distinct loads than this give no knee and no fit.
MIN_POINTS = 4


def sorted_by_load(xs: Sequence[float], ys: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The points as arrays, in order of load (stable for repeated loads)."""
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    order = np.argsort(x, kind="stable")
    return x[order], y[order]


def usl_model(n: np.ndarray, lambda_: float, sigma: float, kappa: float) -> np.ndarray:
    """Universal Scalability Law: X(N) = lambda N / (1 + sigma (N-1) + kappa N (N-1))."""
    return lambda_ * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))


#: A peak further out than this many times the largest tested load is not reported: so far
#: beyond the data the coherency term cannot be told from zero.
PEAK_HORIZON = 2.0
#: A normalised coefficient below this is at its bound, 0 (no contention, no coherency).
AT_BOUND = 1e-6


@dataclass(frozen=True)
class UslFit:
    """USL coefficients: ``lambda_`` (throughput of one unit), ``sigma`` (contention),
    ``kappa`` (coherency), fit quality ``r2``, their standard errors (``*_se``, None when the
    data do not allow them), and the predicted peak (``peak_n``/``peak_throughput``, None when
    the fitted curve does not turn down between the smallest tested load and ``PEAK_HORIZON`` x
    the largest; ``peak_note`` says why); ``well_determined`` is False when a coefficient's
    standard error exceeds its value (the points do not pin the curve down)."""

    ok: bool
    lambda_: float | None = None
    sigma: float | None = None
    kappa: float | None = None
    r2: float | None = None
    peak_n: float | None = None
    peak_throughput: float | None = None
    reason: str | None = None
    lambda_se: float | None = None
    sigma_se: float | None = None
    kappa_se: float | None = None
    peak_note: str | None = None
    peak_n_se: float | None = None
    well_determined: bool | None = None

    def predict(self, n: Sequence[float]) -> list[float]:
        """Throughput the fit predicts at loads ``n``."""
        if not self.ok or self.lambda_ is None or self.sigma is None or self.kappa is None:
            return []
        return [
            float(v) for v in usl_model(np.asarray(n, float), self.lambda_, self.sigma, self.kappa)
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


#: How many loads the drawn USL curve is evaluated at (across the measured loads).
CURVE_POINTS = 40


def usl_curve(
    fit: UslFit, loads: Sequence[float], *, points: int = CURVE_POINTS
) -> list[dict[str, float]]:
    """``[{"n", "throughput"}]``: the fitted throughput at ``points`` evenly spaced loads from
    the smallest to the largest of ``loads`` (and at the peak when it lies between them), for a
    chart to draw; empty without a fit or with fewer than two distinct loads."""
    distinct = sorted(set(loads))
    if not fit.ok or len(distinct) < 2:
        return []
    lo, hi = distinct[0], distinct[-1]
    grid = {lo + (hi - lo) * i / (points - 1) for i in range(points)}
    if fit.peak_n is not None and lo <= fit.peak_n <= hi:
        grid.add(fit.peak_n)
    at = sorted(grid)
    return [{"n": n, "throughput": y} for n, y in zip(at, fit.predict(at), strict=True)]


def _usl_scaled(scale: float) -> Any:
    """The USL in normalised units: load ``u = N / scale``, parameters ``l = lambda scale / y``,
    ``a = sigma scale``, ``k = kappa scale^2``; each is of order one whatever the load's units."""

    def model(u: np.ndarray, l_: float, a: float, k: float) -> np.ndarray:
        return l_ * u / (1.0 - a / scale + a * u - k * u / scale + k * u * u)

    return model


def _usl_starts(u: np.ndarray, y: np.ndarray, scale: float) -> list[tuple[float, float, float]]:
    """Start values: the linearised fit (u / X is quadratic in u) and a few generic ones."""
    starts = []
    try:
        c2, c1, c0 = np.polyfit(u, u / y, 2)
        l_ = 1.0 / (c0 + c1 / scale + c2 / scale**2)
        if np.isfinite(l_) and l_ > 0:
            starts.append((float(l_), float(c1 * l_ + c2 * l_ / scale), float(c2 * l_)))
    except (np.linalg.LinAlgError, ValueError):
        pass
    slope = float(np.max(y / u))
    starts += [(slope, 0.1, 0.1), (slope, 1.0, 0.01), (slope, 0.01, 1.0)]
    return starts


def usl_fit(n: Sequence[float], throughput: Sequence[float]) -> UslFit:
    """Fit the USL to (load, throughput) pairs by bounded least squares (sigma in [0, 1],
    kappa >= 0) on normalised loads and throughputs, so the answer does not depend on their
    units; several start values, the best kept. Not ok when the fit explains no more than a
    flat line does (adjusted R2 <= 0)."""
    x, y = sorted_by_load(n, throughput)
    if len(np.unique(x)) < MIN_POINTS:
        return UslFit(False, reason=f"too few points: {len(np.unique(x))} distinct loads, need 4")
    if np.any(x <= 0) or not np.all(np.isfinite(y)) or np.any(y < 0) or not np.any(y > 0):
        return UslFit(False, reason="loads must be > 0 and throughputs finite and >= 0")
    scale, yscale = float(np.max(x)), float(np.max(y))
    u, yn = x / scale, y / yscale
    model = _usl_scaled(scale)
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    last_error = "no start value converged"
    for p0 in _usl_starts(u, yn, scale):
        start = (max(p0[0], 1e-9), min(max(p0[1], 0.0), scale), max(p0[2], 0.0))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OptimizeWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                params, cov = curve_fit(
                    model, u, yn, p0=start, bounds=([0.0, 0.0, 0.0], [np.inf, scale, np.inf]),
                    maxfev=20000,
                )  # fmt: skip
        except (RuntimeError, ValueError) as exc:
            last_error = str(exc)
            continue
        sse = float(np.sum((yn - model(u, *params)) ** 2))
        if np.isfinite(sse) and (best is None or sse < best[0]):
            best = (sse, params, cov)
    if best is None:
        return UslFit(False, reason=f"the fit did not converge: {last_error}")
    sse, (l_, a, k), cov = best
    lam, sigma, kappa = float(l_ * yscale / scale), float(a / scale), float(k / scale**2)
    total = float(np.sum((yn - yn.mean()) ** 2))
    r2 = 1.0 - sse / total if total > 0 else 0.0
    # Per degree of freedom (3 parameters against the flat line's 1), so that a fit does not
    # pass by spending its parameters on noise.
    adjusted = 1.0 - (1.0 - r2) * (len(x) - 1) / (len(x) - 3) if len(x) > 3 else r2
    if adjusted <= 0:
        return UslFit(
            False, lam, sigma, kappa, r2,
            reason=f"the USL fits no better than a flat line (R2 {r2:.3g},"
            f" adjusted {adjusted:.3g})",
        )  # fmt: skip
    ses: list[float | None] = [None, None, None]
    if len(x) > 3 and np.all(np.isfinite(cov)):
        factors = (yscale / scale, 1.0 / scale, 1.0 / scale**2)
        ses = [float(math.sqrt(max(cov[i][i], 0.0)) * f) for i, f in enumerate(factors)]
    peak_n = peak_x = peak_se = None
    note: str | None = "no retrograde region (kappa = 0)"
    if k > AT_BOUND and sigma < 1.0:
        at = math.sqrt((1.0 - sigma) / kappa)
        if at < float(x.min()):
            note = (
                f"the fitted peak ({at:.4g}) lies below the smallest load tested: throughput"
                " falls from the first load"
            )
        elif at <= PEAK_HORIZON * scale:
            peak_n, note = at, None
            peak_x = float(usl_model(np.asarray([at]), lam, sigma, kappa)[0])
            if ses[2] is not None:
                peak_se = _peak_se(a, k, cov, scale)
        else:
            note = (
                f"the fitted peak ({at:.4g}) lies beyond {PEAK_HORIZON:g}x the largest load tested"
            )
    determined = None
    if ses[1] is not None and ses[2] is not None:
        # A coefficient at its bound (0, in normalised units) is "not different from 0", not
        # undetermined: only the others are judged.
        determined = all(
            se <= v for se, v, norm in ((ses[1], sigma, a), (ses[2], kappa, k)) if norm > AT_BOUND
        )
    return UslFit(
        True, lam, sigma, kappa, r2, peak_n, peak_x,
        lambda_se=ses[0], sigma_se=ses[1], kappa_se=ses[2], peak_note=note, peak_n_se=peak_se,
        well_determined=determined,
    )  # fmt: skip


def _peak_se(a: float, k: float, cov: np.ndarray, scale: float) -> float | None:
    """Standard error of the peak load sqrt((1 - sigma) / kappa), by the delta method."""

    def peak(a_: float, k_: float) -> float:
        return scale * math.sqrt(max(1.0 - a_ / scale, 0.0) / k_)

    if k <= 0:
        return None
    da, dk = 1e-6 * max(abs(a), 1e-6), 1e-6 * k
    grad = np.array(
        [0.0, (peak(a + da, k) - peak(a - da, k)) / (2 * da),
         (peak(a, k + dk) - peak(a, k - dk)) / (2 * dk)]
    )  # fmt: skip
    variance = float(grad @ cov @ grad)
    return math.sqrt(variance) if math.isfinite(variance) and variance >= 0 else None
