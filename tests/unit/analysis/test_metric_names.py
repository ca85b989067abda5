"""A sweep understands the common names of throughput and latency percentiles, and the user's."""

from __future__ import annotations

from typing import Any

import pytest

from jobprobe.analysis import sweep


def _records(metrics_at: dict[float, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"task_id": f"j{v}", "status": "success", "params": {"clients": v},
         "duration_seconds": 1.0, "metrics": m}
        for v, m in metrics_at.items()
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("metrics", "throughput", "p99_ms"),
    [
        ({"rps": 120.0, "p99_latency_ms": 12.0}, 120.0, 12.0),
        ({"qps": 80.0, "latency_p99_ms": 7.5}, 80.0, 7.5),
        ({"tokens_per_s": 900.0, "p99": 30.0}, 900.0, 30.0),
        ({"requests_per_second": 50.0, "p99_us": 2500.0}, 50.0, 2.5),
        ({"throughput": 10.0, "rps": 99.0, "p99_s": 0.25}, 10.0, 250.0),
        ({"tps": 5.0, "latency_p99": 4.0, "p50": 2.0}, 5.0, 4.0),
    ],
)
def test_common_names_are_understood(
    metrics: dict[str, Any], throughput: float, p99_ms: float
) -> None:
    (point,) = sweep.points("clients", _records({1.0: metrics}))
    assert point["throughput"] == pytest.approx(throughput)
    assert point["p99_ms"] == pytest.approx(p99_ms)


def test_the_user_names_the_metrics() -> None:
    recs = _records({1.0: {"rps": 1.0, "goodput": 42.0, "p99_ms": 5.0, "tail_ms": 9.0}})
    (point,) = sweep.points("clients", recs, throughput_metric="goodput", latency_metric="tail_ms")
    assert point["throughput"] == 42.0 and point["p99_ms"] == 9.0
    assert point["metric_names"] == {"throughput": "goodput", "p50": None, "p99": "tail_ms"}


def test_a_p99_latency_ms_sweep_gets_its_latency_knee() -> None:
    loads = [1, 2, 4, 6, 8, 10, 12, 16, 20, 24]
    recs = _records(
        {float(v): {"rps": 100.0 * min(v, 10), "p99_latency_ms": 5 + max(0, v - 10) * 30}
         for v in loads}
    )  # fmt: skip
    facts = sweep.facts(
        {"sweep_id": "s", "vary": "clients", "slo_p99_ms": None, "tool": "t", "script": "x"}, recs
    )
    assert facts["latency_knee"]["found"] and facts["latency_knee"]["x"] == 10
    assert facts["metric_names"] == {"throughput": ["rps"], "p50": [], "p99": ["p99_latency_ms"]}
