"""Counter arithmetic: the one place deltas are divided by the measured monotonic interval."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class RateTracker:
    """Turn successive raw counter readings into per-second rates.

    Each call to :meth:`update` divides the change of every counter since the previous call by
    the monotonic seconds between the two calls, as measured by the caller's clock. A window
    shorter than ``min_dt`` (a final sample just after a tick) gives ``None`` rather than a rate
    dominated by the counters' granularity, and the next window starts from the older reading.
    """

    def __init__(self, rates: Mapping[str, tuple[str, float]], *, min_dt: float = 0.0) -> None:
        self._rates = dict(rates)
        self._min_dt = min_dt
        self._prev: dict[str, float] = {}
        self._prev_t: float | None = None

    def update(self, t_mono: float, values: Mapping[str, Any]) -> dict[str, float | None]:
        """Return ``{rate_key: rate or None}`` for the counters in ``values``."""
        out: dict[str, float | None] = {}
        dt = None if self._prev_t is None else t_mono - self._prev_t
        if dt is not None and dt < self._min_dt:
            return {rate_key: None for rate_key, _ in self._rates.values()}
        for counter, (rate_key, scale) in self._rates.items():
            value = values.get(counter)
            prev = self._prev.get(counter)
            if value is None or prev is None or dt is None or dt <= 0:
                out[rate_key] = None
            else:
                out[rate_key] = scale * max(0.0, float(value) - prev) / dt
            if value is None:
                self._prev.pop(counter, None)
            else:
                self._prev[counter] = float(value)
        self._prev_t = t_mono
        return out


def busy_percent(
    prev: Sequence[float], cur: Sequence[float], idle_fields: Sequence[int]
) -> float | None:
    """CPU busy percent between two cumulative cpu-times tuples (``/proc/stat`` style).

    ``idle_fields`` are the indexes counted as idle (idle, iowait). ``None`` when no time passed.
    """
    total = sum(cur) - sum(prev)
    if total <= 0:
        return None
    idle = sum(cur[i] - prev[i] for i in idle_fields)
    return max(0.0, min(100.0, 100.0 * (total - idle) / total))


class Baseline:
    """Subtract the first reading of each counter, so counters read "since profiling started"."""

    def __init__(self, counters: Sequence[str]) -> None:
        self._counters = tuple(counters)
        self._first: dict[str, float] = {}

    def apply(self, values: dict[str, Any]) -> None:
        """Rewrite the counters of ``values`` in place as differences from their first reading."""
        for key in self._counters:
            value = values.get(key)
            if value is None:
                continue
            first = self._first.setdefault(key, float(value))
            values[key] = float(value) - first

    def first(self, key: str) -> float | None:
        """The first reading of ``key`` (``None`` if never read)."""
        return self._first.get(key)
