"""Where a service stops scaling: Kneedle knees, a Universal Scalability Law fit, SLO limits.

Each function returns a result object that says when there is no answer (``found``/``ok`` false,
with a ``reason``) rather than inventing a knee for a straight line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy.stats import f as stats_f

from jobprobe.analysis import bottleneck, fields, stats
from jobprobe.analysis.usl import MIN_POINTS, UslFit, sorted_by_load, usl_curve, usl_fit

# Below this peak of the difference curve (fraction of the normalised range) the curve is
# treated as a straight line: a bend this small is noise, not a knee.
MIN_BEND = 0.1
# A knee must bend the curve more than its noise explains: a line broken at the knee has to fit
# significantly better than one straight line (F-test, this false-alarm rate).
KNEE_ALPHA = 0.01


@dataclass(frozen=True)
class Knee:
    """A Kneedle result: the knee's ``x``/``y`` when ``found``, else the ``reason`` why not."""

    found: bool
    x: float | None = None
    y: float | None = None
    index: int | None = None
    bend: float | None = None
    reason: str | None = None
    p_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def bend_p_value(
    xs: Sequence[float] | np.ndarray, ys: Sequence[float] | np.ndarray, at: float | None
) -> float:
    """How likely noise alone makes a line broken at ``at`` (a parabola when ``at`` is None)
    fit this much better than one straight line: the F-test of that fit against the line, its
    residual variance the noise estimate. 0 when it fits exactly and the line does not."""
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    line = np.column_stack([np.ones_like(x), x])
    if at is None:
        xc = (x - x.mean()) / (np.ptp(x) or 1.0)
        broken = np.column_stack([line, xc**2])
    else:
        broken = np.column_stack([line, np.maximum(0.0, x - at)])
    sse = []
    for design in (line[:, :1], line, broken):
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        sse.append(float(np.sum((y - design @ coef) ** 2)))
    dof = len(x) - 3
    scale = max(float(np.sum(y**2)), 1e-300)
    if dof <= 0 or sse[1] <= 1e-24 * scale:
        return 1.0
    if sse[2] <= 1e-24 * scale:
        return 0.0
    noise = sse[2] / dof
    bend = stats_f.sf(max((sse[1] - sse[2]) / noise, 0.0), 1, dof)
    # A bend in a curve that does not change beyond its noise (flat) is no knee either.
    change = stats_f.sf(max((sse[0] - sse[2]) / 2 / noise, 0.0), 2, dof)
    return float(max(bend, change))


def knee(
    xs: Sequence[float],
    ys: Sequence[float],
    *,
    direction: Literal["increasing", "decreasing"] = "increasing",
    curve: Literal["concave", "convex"] = "concave",
    sensitivity: float = 1.0,
    alpha: float = KNEE_ALPHA,
    samples: tuple[Sequence[float], Sequence[float]] | None = None,
) -> Knee:
    """Find the knee of ``ys`` over ``xs`` with Kneedle (Satopaa et al., 2011).

    Both axes are normalised to [0, 1] and flipped so the curve is concave and increasing; the
    knee is a local maximum of the difference curve ``y - x`` after which the difference falls
    below ``peak - sensitivity * mean(dx)``. When several qualify the most pronounced wins.
    Not found for fewer than 4 points, a flat curve, one within ``MIN_BEND`` of a line, or a
    bend the noise explains (``bend_p_value`` >= ``alpha``). ``samples``: every measurement
    (repeats included) behind the points, when there are more; the noise is estimated from them.
    """
    if len(xs) != len(ys):
        raise ValueError(f"xs and ys differ in length ({len(xs)} != {len(ys)})")
    x, y = sorted_by_load(xs, ys)
    if len(x) < MIN_POINTS or len(np.unique(x)) < MIN_POINTS:
        return Knee(False, reason=f"too few points: {len(np.unique(x))} distinct loads, need 4")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return Knee(False, reason="the curve has missing (non-finite) values")
    if np.ptp(y) <= 1e-12 * max(1.0, float(np.max(np.abs(y)))):
        return Knee(False, reason="flat curve: the value does not change with load")
    xn = (x - x.min()) / np.ptp(x)
    yn = (y - y.min()) / np.ptp(y)
    if direction == "decreasing" and curve == "concave":
        xn = 1.0 - xn
    elif direction == "decreasing" and curve == "convex":
        yn = 1.0 - yn
    elif direction == "increasing" and curve == "convex":
        xn, yn = 1.0 - xn, 1.0 - yn
    order = np.argsort(xn, kind="stable")
    xt, diff = xn[order], (yn - xn)[order]
    if float(diff.max()) < MIN_BEND:
        return Knee(
            False,
            bend=float(diff.max()),
            reason=f"no knee: the curve stays within {MIN_BEND:g} of a straight line",
        )
    step = float(np.mean(np.diff(xt)))
    best: int | None = None
    maxima = [
        i for i in range(1, len(diff) - 1) if diff[i] >= diff[i - 1] and diff[i] >= diff[i + 1]
    ]
    for i in maxima:
        threshold = diff[i] - sensitivity * step
        for j in range(i + 1, len(diff)):
            if j in maxima and diff[j] > diff[i]:
                break
            if diff[j] < threshold:
                if best is None or diff[i] > diff[best]:
                    best = i
                break
    if best is None:
        return Knee(
            False,
            bend=float(diff.max()),
            reason="no knee: the curve keeps bending to the last point (extend the range)",
        )
    original = int(order[best])
    # Kneedle chose the break among the interior points: a Bonferroni bound keeps the chance
    # that noise alone passes at ``alpha``.
    # A smooth bend is tested as a parabola, a sharp one as a broken line; taking the better of
    # the two counts as a second test.
    tx, ty = (x, y) if samples is None else (np.asarray(samples[0]), np.asarray(samples[1]))
    p_value = min(
        1.0,
        2 * bend_p_value(tx, ty, None),
        2 * bend_p_value(tx, ty, float(x[original])) * max(1, len(x) - 2),
    )
    if p_value >= alpha:
        return Knee(
            False,
            bend=float(diff[best]),
            p_value=p_value,
            reason=f"no knee: the bend at {x[original]:g} is within the noise"
            f" (p={p_value:.2g} against a straight line; add points or --repeat)",
        )
    return Knee(
        True, float(x[original]), float(y[original]), original, float(diff[best]), p_value=p_value
    )


@dataclass(frozen=True)
class SloLimit:
    """Largest load whose p99 stays within the SLO (``None`` when even the lowest breaks it):
    ``x`` interpolated between the last passing and the first failing load, ``measured_x`` the
    highest load actually measured to pass."""

    found: bool
    x: float | None
    slo_p99: float
    interpolated: bool = False
    reason: str | None = None
    measured_x: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def slo_limit(xs: Sequence[float], p99s: Sequence[float], slo_p99: float) -> SloLimit:
    """Largest load with p99 <= ``slo_p99``, linearly interpolated at the first crossing.

    The first crossing is used (not the last) so a noisy curve never overstates the limit.
    """
    x, p = sorted_by_load(xs, p99s)
    if len(x) == 0:
        return SloLimit(False, None, slo_p99, reason="no points")
    if p[0] > slo_p99:
        return SloLimit(
            False,
            None,
            slo_p99,
            reason=f"p99 {p[0]:g} ms already exceeds the SLO at the lowest load {x[0]:g}",
        )
    for i in range(len(x) - 1):
        if p[i + 1] > slo_p99:
            span = p[i + 1] - p[i]
            frac = (slo_p99 - p[i]) / span if span > 0 else 0.0
            limit = float(x[i] + frac * (x[i + 1] - x[i]))
            return SloLimit(True, limit, slo_p99, True, measured_x=float(x[i]))
    return SloLimit(
        True,
        float(x[-1]),
        slo_p99,
        reason="the SLO holds at every tested load: the limit is at least the largest",
        measured_x=float(x[-1]),
    )


def _median(values: list[float]) -> float | None:
    return stats.percentile(values, 50)


def _point_throughput(point: dict[str, Any]) -> float | None:
    value = point.get("throughput")
    record = point.get("record") or {}
    if value is None:
        value = fields.num(record, "metrics.throughput")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _utilisation(record: dict[str, Any]) -> dict[str, float | None]:
    """Each resource's use as a fraction of its limit, for the saturation attribution."""
    derived = bottleneck.derive(record)
    gpu = derived["gpu_util_percent"]
    host_cpu = derived["host_cpu_percent"]
    return {
        "cpu": derived["cpu_busy_core_fraction"],
        "host_cpu": None if host_cpu is None else host_cpu / 100.0,
        "memory": derived["mem_limit_fraction"],
        "gpu": None if gpu is None else gpu / 100.0,
    }


def _aggregate(points: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    by_value: dict[float, list[dict[str, Any]]] = {}
    for point in points:
        by_value.setdefault(float(point["value"]), []).append(point)
    rows = []
    for value in sorted(by_value):
        group = by_value[value]
        throughputs = [t for t in (_point_throughput(p) for p in group) if t is not None]
        p50 = [float(p["p50_ms"]) for p in group if p.get("p50_ms") is not None]
        p99 = [float(p["p99_ms"]) for p in group if p.get("p99_ms") is not None]
        rows.append(
            {
                "value": value,
                "repeats": len(group),
                "throughput": _median(throughputs),
                "throughput_min": min(throughputs) if throughputs else None,
                "throughput_max": max(throughputs) if throughputs else None,
                "p50_ms": _median(p50),
                "p99_ms": _median(p99),
                "records": [p["record"] for p in group if isinstance(p.get("record"), dict)],
            }
        )
    return rows


def _saturating(row: dict[str, Any]) -> dict[str, Any]:
    records = row["records"]
    if not records:
        return {"value": row["value"], "resource": None, "reason": "no job records at this load"}
    per_record = [_utilisation(r) for r in records]
    utilisation: dict[str, float | None] = {}
    for name in per_record[0]:
        values = [u[name] for u in per_record]
        utilisation[name] = _median([v for v in values if v is not None])
    ranked = sorted(((v, k) for k, v in utilisation.items() if v is not None), reverse=True)
    verdict = bottleneck.classify(records[len(records) // 2])
    return {
        "value": row["value"],
        "resource": ranked[0][1] if ranked else None,
        "utilisation": utilisation,
        "verdict": verdict.kind,
        "reason": None if ranked else "no utilisation figures in the records",
    }


def _repeats(
    pairs: list[tuple[float, float]], distinct: int
) -> tuple[list[float], list[float]] | None:
    """All (load, value) measurements when there are repeats, else None (the points suffice)."""
    if len(pairs) <= distinct:
        return None
    return [a for a, _ in pairs], [b for _, b in pairs]


def sweep_report(
    points: Sequence[dict[str, Any]], *, slo_p99: float | None = None
) -> dict[str, Any]:
    """Analyse a load sweep.

    ``points``: one dict per job, ``{value, repeat, throughput, p50_ms, p99_ms, record}``
    (``throughput`` falls back to the record's ``metrics.throughput``). Repeats are aggregated by
    median. Returns the per-load rows, the throughput saturation point (concave knee), the p99
    latency knee (convex knee), the USL fit, the SLO limit when ``slo_p99`` is given, and the
    resource that saturates at the knee (highest utilisation relative to its limit).
    """
    rows = _aggregate(points)
    tp = [(r["value"], r["throughput"]) for r in rows if r["throughput"] is not None]
    lat = [(r["value"], r["p99_ms"]) for r in rows if r["p99_ms"] is not None]
    # Every repeat, for the knees' noise estimate (medians hide the scatter between repeats).
    tp_all = [(float(p["value"]), t) for p in points if (t := _point_throughput(p)) is not None]
    lat_all = [(float(p["value"]), float(p["p99_ms"])) for p in points
               if p.get("p99_ms") is not None]  # fmt: skip
    throughput_knee = (
        knee([a for a, _ in tp], [b for _, b in tp], samples=_repeats(tp_all, len(tp)))
        if tp
        else Knee(False, reason="no throughput figures")
    )
    latency_knee = (
        knee([a for a, _ in lat], [b for _, b in lat], curve="convex",
             samples=_repeats(lat_all, len(lat)))
        if lat
        else Knee(False, reason="no p99 latency figures")
    )  # fmt: skip
    usl = (
        usl_fit([a for a, _ in tp], [b for _, b in tp])
        if tp
        else UslFit(False, reason="no throughput figures")
    )
    slo = (
        slo_limit([a for a, _ in lat], [b for _, b in lat], slo_p99)
        if (slo_p99 is not None and lat)
        else None
    )
    at = latency_knee.x if latency_knee.found else throughput_knee.x
    knee_row = next((r for r in rows if r["value"] == at), rows[-1] if rows else None)
    return {
        "subject": "sweep",
        "points": [{k: v for k, v in r.items() if k != "records"} for r in rows],
        "throughput_knee": throughput_knee.to_dict(),
        "latency_knee": latency_knee.to_dict(),
        "usl": usl.to_dict(),
        "usl_curve": usl_curve(usl, [a for a, _ in tp]),
        "slo": None if slo is None else slo.to_dict(),
        "saturation": None
        if knee_row is None
        else {
            **_saturating(knee_row),
            "at": "knee" if at is not None else "highest load (no knee found)",
        },
    }
