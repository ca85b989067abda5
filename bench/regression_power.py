"""Detection and false-alarm rates of ``compare`` (``analysis.regression``) over seeded trials.

Each trial draws ``runs`` baseline and ``runs`` candidate durations with ``noise`` relative
standard deviation, the candidate slower by ``change``; a trial is detected when
``duration_seconds`` is a (confirmed) regression. With no change the same count is the false-alarm
rate. One run a side is reported as unconfirmed, never as a regression; its column says how often.

    python bench/regression_power.py [--trials 2000] [--noise 0.05] [--change 0.15]
"""

from __future__ import annotations

import argparse

import numpy as np

from jobprobe.analysis import regression


def _rates(runs: int, noise: float, change: float, trials: int, seed: int) -> tuple[float, float]:
    """(regressed, unconfirmed) fractions of ``trials`` comparisons."""
    rng = np.random.default_rng(seed)
    regressed = unconfirmed = 0
    for _ in range(trials):
        base = 1.0 + rng.normal(0, noise, runs)
        cand = (1.0 + change) * (1.0 + rng.normal(0, noise, runs))
        result = regression.compare(
            [{"task_id": f"b{i}", "status": "success", "duration_seconds": v} for i, v in enumerate(base)],
            [{"task_id": f"c{i}", "status": "success", "duration_seconds": v} for i, v in enumerate(cand)],
        )  # fmt: skip
        row = next(r for r in result.rows if r.name == "duration_seconds")
        regressed += row.status == "regressed"
        unconfirmed += row.status == "unconfirmed"
    return regressed / trials, unconfirmed / trials


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--change", type=float, default=0.15)
    args = parser.parse_args()
    print(
        f"duration_seconds, noise {100 * args.noise:g} % (relative sd), threshold"
        f" {regression.Thresholds().duration_pct:g} %, alpha {regression.Thresholds().alpha:g}"
        f" one-sided, {args.trials} seeded trials"
    )
    print(f"{'runs a side':<12} {'change':>7} {'regressed':>10} {'unconfirmed':>12}")
    for runs in (1, 3, 5, 10):
        for change in (0.0, args.change):
            hit, maybe = _rates(runs, args.noise, change, args.trials, seed=runs)
            label = "detection" if change else "false alarm"
            print(
                f"{runs:<12} {100 * change:>+6.0f}% {100 * hit:>9.1f}% {100 * maybe:>11.1f}%"
                f"  ({label})"
            )


if __name__ == "__main__":
    main()
