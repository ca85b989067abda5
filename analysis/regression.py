"""Did the candidate runs get worse than the baseline runs?

Per metric: the mean of each side, the relative change, and a verdict. A change past its
threshold in the worse direction is a regression when, with ``min_runs_for_test`` or more runs on
each side, a one-sided Welch t-test (in the direction of "worse") rejects "no worse" at
``alpha``; with fewer runs there is no noise estimate, and such a change is ``unconfirmed``
(reported, not a regression: run each side 3+ times, e.g. ``--repeat``). Success rate
(successes over finished runs, ``store.status.success_rate``) is flagged on its threshold alone
(a failure is not noise).

Direction of a ``metrics`` entry comes from its name (``metric_direction``): names containing a
lower-is-better token (latency, ``_ms``, time, duration, error, fail, loss, p50/p90/p95/p99,
miss) are lower-is-better; otherwise names containing throughput, rate, ``per_s``, ops, qps,
rps, tps, speedup, bandwidth, accuracy or score are higher-is-better; anything else is reported
without a verdict.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import stats

from jobprobe.analysis import fields
from jobprobe.store import status as job_status

Direction = Literal["lower_is_better", "higher_is_better", "unknown"]
Status = Literal[
    "ok", "regressed", "improved", "new_cost", "not_comparable", "noise", "info", "unconfirmed"
]
#: What a user does about an unconfirmed change.
UNCONFIRMED_ADVICE = (
    "fewer than {n} runs a side cannot tell a change from noise: run each side {n}+ times"
    " (sweep --repeat {n}, or submit again with the same --label) and compare the label groups"
)

LOWER_TOKENS = (
    "latency",
    "_ms",
    "time",
    "duration",
    "error",
    "fail",
    "loss",
    "p50",
    "p90",
    "p95",
    "p99",
    "miss",
)
HIGHER_TOKENS = (
    "throughput",
    "rate",
    "per_s",
    "ops",
    "qps",
    "rps",
    "tps",
    "speedup",
    "bandwidth",
    "accuracy",
    "score",
)


@dataclass(frozen=True)
class Thresholds:
    """Relative changes (percent) that count as a regression, and the test settings."""

    duration_pct: float = 10.0
    memory_pct: float = 10.0
    cost_pct: float = 10.0
    latency_pct: float = 10.0
    throughput_pct: float = 10.0
    success_rate_points: float = 1.0
    alpha: float = 0.05
    min_runs_for_test: int = 3


@dataclass
class MetricRow:
    """One metric compared across the two sides."""

    name: str
    direction: Direction
    baseline: float | None
    candidate: float | None
    relative_change: float | None
    threshold: float | None
    status: Status
    p_value: float | None = None
    baseline_n: int = 0
    candidate_n: int = 0
    reason: str | None = None


@dataclass
class Comparison:
    """The whole comparison: ``regressed`` is true when any row is a regression or new cost;
    ``unconfirmed`` names the rows past their threshold without enough runs to test them."""

    regressed: bool
    rows: list[MetricRow] = field(default_factory=list)
    baseline_runs: int = 0
    candidate_runs: int = 0

    @property
    def unconfirmed(self) -> list[MetricRow]:
        """Rows past their threshold in the worse direction, too few runs to confirm it."""
        return [r for r in self.rows if r.status == "unconfirmed"]

    @property
    def regressions(self) -> list[MetricRow]:
        """Rows that regressed (including new costs)."""
        return [r for r in self.rows if r.status in ("regressed", "new_cost")]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"subject": "comparison", **asdict(self)}


def metric_direction(name: str) -> Direction:
    """Whether a higher value of metric ``name`` is better, by the naming rule above."""
    lowered = name.lower()
    if any(token in lowered for token in LOWER_TOKENS):
        return "lower_is_better"
    if any(token in lowered for token in HIGHER_TOKENS):
        return "higher_is_better"
    return "unknown"


Extractor = Callable[[Mapping[str, Any]], float | None]
CORE_METRICS: tuple[tuple[str, Extractor, str], ...] = (
    ("duration_seconds", fields.duration_s, "duration_pct"),
    ("cpu_seconds", fields.cpu_seconds, "cost_pct"),
    ("memory_peak_mb", fields.memory_peak_mb, "memory_pct"),
    ("gpu_seconds", fields.gpu_seconds, "cost_pct"),
    ("gpu_energy_j", fields.gpu_energy_j, "cost_pct"),
)


def _p_value(base: list[float], cand: list[float], direction: Direction) -> float:
    """One-sided: how likely the candidate looks this much worse than the baseline by noise
    alone (Welch's t-test; "worse" is higher unless ``direction`` is higher-is-better)."""
    worse_is_higher = direction != "higher_is_better"
    if np.var(base) == 0 and np.var(cand) == 0:
        gap = float(np.mean(cand) - np.mean(base))
        return 0.0 if (gap > 0 if worse_is_higher else gap < 0) else 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(
            cand, base, equal_var=False, alternative="greater" if worse_is_higher else "less"
        )
    p = float(result.pvalue)
    return p if math.isfinite(p) else 1.0


def _row(
    name: str,
    direction: Direction,
    base: list[float],
    cand: list[float],
    threshold: float | None,
    limits: Thresholds,
    n_base: int,
    n_cand: int,
) -> MetricRow:
    row = MetricRow(
        name,
        direction,
        None,
        None,
        None,
        threshold,
        "not_comparable",
        baseline_n=len(base),
        candidate_n=len(cand),
    )
    if not base or not cand:
        side = "baseline" if not base else "candidate"
        have = len(base) if not base else len(cand)
        total = n_base if not base else n_cand
        row.reason = f"missing in the {side} ({have} of {total} runs have it)"
        return row
    row.baseline, row.candidate = float(np.mean(base)), float(np.mean(cand))
    tested = len(base) >= limits.min_runs_for_test and len(cand) >= limits.min_runs_for_test
    if tested:
        row.p_value = _p_value(base, cand, direction)
    significant = tested and row.p_value is not None and row.p_value < limits.alpha
    # The other side of the one-sided test: confidence that it got better.
    better = tested and row.p_value is not None and 1.0 - row.p_value < limits.alpha
    advice = UNCONFIRMED_ADVICE.format(n=limits.min_runs_for_test)
    worse_sign = 1.0 if direction != "higher_is_better" else -1.0
    if row.baseline == 0:
        row.relative_change = None
        if row.candidate == 0:
            row.status = "ok"
        elif direction == "lower_is_better" and row.candidate > 0:
            row.status = "new_cost" if significant else "noise" if tested else "unconfirmed"
            row.reason = "baseline was 0: a new cost, no relative change" + (
                "" if tested else f"; {advice}"
            )
        else:
            row.status = "info"
            row.reason = "baseline was 0: no relative change"
        return row
    row.relative_change = (row.candidate - row.baseline) / abs(row.baseline)
    if direction == "unknown" or threshold is None:
        row.status = "info"
        row.reason = "direction unknown from the name: reported, not judged"
        return row
    worse = worse_sign * row.relative_change * 100.0
    if worse >= threshold:
        row.status = "regressed" if significant else "noise" if tested else "unconfirmed"
    elif -worse >= threshold and better:
        row.status = "improved"
    else:
        row.status = "ok"
    if row.status == "noise":
        row.reason = f"change not significant (one-sided p={row.p_value:.2g} >= {limits.alpha:g})"
    elif row.status == "unconfirmed":
        row.reason = advice
    return row


def _success_row(
    baseline: Sequence[Mapping[str, Any]],
    candidate: Sequence[Mapping[str, Any]],
    limits: Thresholds,
) -> MetricRow:
    def rate(side: Sequence[Mapping[str, Any]]) -> float | None:
        value = job_status.success_rate_of(str(r.get("status")) for r in side)
        return None if value is None else 100.0 * value

    base, cand = rate(baseline), rate(candidate)
    row = MetricRow(
        "success_rate_percent",
        "higher_is_better",
        base,
        cand,
        None,
        limits.success_rate_points,
        "ok",
        baseline_n=len(baseline),
        candidate_n=len(candidate),
    )
    if base is None or cand is None:
        row.status, row.reason = "not_comparable", "one side has no finished runs"
        return row
    row.relative_change = (cand - base) / base if base else None
    if base - cand >= limits.success_rate_points:
        row.status = "regressed"
        row.reason = f"success rate fell by {base - cand:.1f} points"
    elif cand - base >= limits.success_rate_points:
        row.status = "improved"
    return row


def _values(records: Sequence[Mapping[str, Any]], extract: Extractor) -> list[float]:
    return [v for v in (extract(r) for r in records) if v is not None]


def _metric_names(records: Sequence[Mapping[str, Any]]) -> set[str]:
    names: set[str] = set()
    for record in records:
        metrics = record.get("metrics")
        if isinstance(metrics, Mapping):
            names.update(
                k
                for k, v in metrics.items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            )
    return names


def compare(
    baseline: Sequence[Mapping[str, Any]],
    candidate: Sequence[Mapping[str, Any]],
    *,
    thresholds: Thresholds | None = None,
) -> Comparison:
    """Compare candidate job records with baseline job records (see the module docstring)."""
    limits = thresholds or Thresholds()
    n_base, n_cand = len(baseline), len(candidate)
    rows = [_success_row(baseline, candidate, limits)]
    for name, extract, limit_name in CORE_METRICS:
        rows.append(
            _row(
                name,
                "lower_is_better",
                _values(baseline, extract),
                _values(candidate, extract),
                getattr(limits, limit_name),
                limits,
                n_base,
                n_cand,
            )
        )
    for name in sorted(_metric_names(baseline) | _metric_names(candidate)):
        direction = metric_direction(name)
        limit = {
            "lower_is_better": limits.latency_pct,
            "higher_is_better": limits.throughput_pct,
        }.get(direction)

        def extract(record: Mapping[str, Any], key: str = name) -> float | None:
            metrics = record.get("metrics")
            return fields.num(metrics, key) if isinstance(metrics, Mapping) else None

        rows.append(
            _row(
                f"metrics.{name}",
                direction,
                _values(baseline, extract),
                _values(candidate, extract),
                limit,
                limits,
                n_base,
                n_cand,
            )
        )
    regressed = any(r.status in ("regressed", "new_cost") for r in rows)
    return Comparison(regressed, rows, n_base, n_cand)
