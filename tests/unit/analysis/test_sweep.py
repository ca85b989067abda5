"""A sweep's facts from its jobs' records: points, which jobs ended, the fingerprint."""

from __future__ import annotations

from typing import Any

from jobprobe.analysis import sweep
from jobprobe.store.status import SweepStatus

SWEEP = {
    "sweep_id": "s" * 32, "tool": "python", "script": "load.py", "vary": "clients",
    "values": [1, 2, 4, 8], "repeat": 1, "sweep_status": "running", "slo_p99_ms": None,
}  # fmt: skip


def rec(n: int, status: str, **metrics: float) -> dict[str, Any]:
    return {"task_id": f"job-{n}", "status": status, "params": {"clients": n},
            "duration_seconds": 2.0, "metrics": metrics}  # fmt: skip


def test_points_come_from_successful_jobs_with_a_throughput() -> None:
    recs = [rec(1, "success", throughput=10.0), rec(2, "success", requests=40.0),
            rec(4, "success"), rec(8, "failed", throughput=99.0), rec(8, "running")]  # fmt: skip
    points = sweep.points("clients", recs)
    assert [(p["value"], p["throughput"]) for p in points] == [(1.0, 10.0), (2.0, 20.0), (4.0, 0.5)]
    assert sweep.number(True) is None and sweep.number(3) == 3.0


def test_facts_count_ended_jobs_and_the_fingerprint_follows_them() -> None:
    recs = [rec(n, "success", throughput=10.0 * n) for n in (1, 2, 4)] + [rec(8, "running")]
    facts = sweep.facts(SWEEP, recs)
    assert facts["jobs"] == {"total": 4, "ended": 3, "succeeded": 3, "failed": []}
    assert facts["vary"] == "clients" and facts["sweep_id"] == SWEEP["sweep_id"]
    assert facts["summary"].startswith("throughput saturates")
    assert sweep.final_status(facts) is SweepStatus.DONE
    # The same ended jobs, in another order: the same fingerprint; one more ended job: another.
    assert sweep.fingerprint(list(reversed(recs))) == facts["jobs_fingerprint"]
    recs[-1]["status"] = "failed"
    again = sweep.facts(SWEEP, recs)
    assert again["jobs_fingerprint"] != facts["jobs_fingerprint"]
    assert again["jobs"]["failed"] == ["job-8"]


def test_a_sweep_without_a_success_failed() -> None:
    facts = sweep.facts(SWEEP, [rec(1, "failed"), rec(2, "timeout")])
    assert facts["jobs"]["succeeded"] == 0
    assert sweep.final_status(facts) is SweepStatus.FAILED
