"""A saturation sweep of a real script across two real workers (Redis + PostgreSQL), ending with
its sweep report and every job's report written by the follow-up tasks, with nobody asking."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from jobprobe.store import reading, report_reads
from jobprobe.store import sweeps as store_sweeps
from jobprobe.store.db import Store
from tests import workers

pytestmark = pytest.mark.integration

VALUES = [1, 2, 3, 4]


@pytest.fixture
def cluster(redis_url: str, pg_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    # Queue names of its own: a Redis database number is picked at random, and a worker of
    # another test run on the same number must not take this sweep's tasks.
    suffix = uuid.uuid4().hex[:8]
    queues = {
        "JOBPROBE_QUEUE_CPU": f"cpu-{suffix}",
        "JOBPROBE_QUEUE_ANALYSIS": f"analysis-{suffix}",
    }
    env = workers.jobprobe_env(workers.isolated_redis_db(), pg_url, tmp_path / "data", **queues)
    pool = [
        workers.WorkerProcess(env, concurrency=1, queues=",".join(queues.values()))
        for _ in range(2)
    ]
    try:
        for worker in pool:
            worker.wait_ready()
        yield env
    finally:
        for worker in pool:
            worker.stop()


def _poll_json(args: list[str], env: dict[str, str], done: object, timeout: float) -> dict:
    """Run the CLI until ``done(result)`` holds; fail with the last answer at the deadline."""
    deadline = time.monotonic() + timeout
    last: dict = {}
    while time.monotonic() < deadline:
        out = workers.run_cli(args, env)
        assert out.returncode == 0, out.stderr
        last = json.loads(out.stdout)
        if done(last):  # type: ignore[operator]
            return last
        time.sleep(0.5)
    pytest.fail(f"{' '.join(args)}: condition not met after {timeout} s; last answer: {last}")


def _has_sweep_report(facts: dict) -> bool:
    return bool(facts.get("report_path"))


def _overlapping(env: dict[str, str], sweep_id: str) -> list[tuple[str, str]]:
    """Pairs of the sweep's jobs whose runs (start to end) overlapped in time."""
    store = Store(env["JOBPROBE_DATABASE_URL"])
    try:
        with store.session() as session:
            recs = store_sweeps.sweep_records(session, sweep_id)
    finally:
        store.dispose()
    spans = sorted(
        (datetime.fromisoformat(str(r["start_time"])), datetime.fromisoformat(str(r["end_time"])),
         str(r["task_id"]))
        for r in recs
    )  # fmt: skip
    return [(a[2], b[2]) for i, a in enumerate(spans) for b in spans[i + 1 :] if b[0] < a[1]]


SLEEPER = """\
import json, os, time
time.sleep(1.5)
with open(os.environ["JOBPROBE_METRICS_FILE"], "w") as fh:
    json.dump({"throughput": float(os.environ["SIM_CLIENTS"])}, fh)
"""


@pytest.mark.parametrize("parallel", [1, 2])
def test_points_run_one_at_a_time_unless_parallel(
    cluster: dict[str, str], tmp_path: Path, parallel: int
) -> None:
    script = tmp_path / "sleeper.py"
    script.write_text(SLEEPER)
    out = workers.run_cli(
        ["sweep", "python", str(script), "--vary", "clients=1,2,3,4", "--parallel", str(parallel),
         "--queue", cluster["JOBPROBE_QUEUE_CPU"], "--wait", "--wait-timeout", "90", "--json"],
        cluster,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stdout)
    assert out.stderr.startswith(f"sweep {facts['sweep_id']}: 4 jobs"), out.stderr
    assert facts["jobs"]["succeeded"] == 4
    overlaps = _overlapping(cluster, facts["sweep_id"])
    if parallel == 1:
        assert not overlaps, f"points ran at the same time: {overlaps}"
    else:
        assert overlaps, "--parallel 2 on two idle workers should run points at the same time"


def test_sweep_report_is_written_automatically(cluster: dict[str, str]) -> None:
    out = workers.run_cli(
        [
            "sweep", "python", "examples/serve_load.py",
            "--vary", "clients=" + ",".join(map(str, VALUES)),
            "--param", "requests=6", "--param", "size=60000",
            "--label", "team=perf", "--slo-p99", "500", "--queue", cluster["JOBPROBE_QUEUE_CPU"], "--json",
        ],
        cluster,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    queued = json.loads(out.stdout)
    sweep_id = queued["sweep_id"]
    assert queued["jobs"] == len(VALUES) and queued["status"] == "queued"

    facts = _poll_json(["sweep-report", sweep_id, "--json"], cluster, _has_sweep_report, 75)
    assert facts["jobs"] == {"total": 4, "ended": 4, "succeeded": 4, "failed": []}
    assert [p["value"] for p in facts["points"]] == [float(v) for v in VALUES]
    for point in facts["points"]:
        assert point["throughput"] > 0 and point["p99_ms"] >= point["p50_ms"] > 0
    for key in ("found", "x", "reason"):
        assert key in facts["throughput_knee"] and key in facts["latency_knee"]
    assert {"ok", "sigma", "kappa", "r2", "peak_n"} <= facts["usl"].keys()
    assert facts["slo"]["slo_p99"] == 500
    assert facts["saturation"]["value"] in [float(v) for v in VALUES]
    assert facts["saturation"]["resource"] in {"cpu", "host_cpu", "memory", "gpu"}
    assert facts["summary"]
    assert facts["report_path"].endswith(f"sweep-{sweep_id}/report.md")
    assert Path(facts["report_path"]).is_file()
    assert (Path(facts["report_path"]).parent / "sweep.png").stat().st_size > 10_000

    history = workers.run_cli(["job-history", "--label", "team=perf", "--json"], cluster)
    jobs = json.loads(history.stdout)["jobs"]
    assert len(jobs) == 4 and {j["sweep_id"] for j in jobs} == {sweep_id}
    # Issue 15: the points run one at a time (they no longer spread over both workers at once).
    assert not _overlapping(cluster, sweep_id), "a sweep's points ran at the same time"
    assert facts["workers"] and set(facts["workers"]) <= {j["worker"] for j in jobs}
    for job in jobs:
        details = _poll_json(
            ["job-details", job["task_id"], "--json"],
            cluster,
            lambda rec: any(r["kind"] == "job" for r in rec["reports"]),
            20,
        )
        job_report = next(r for r in details["reports"] if r["kind"] == "job")
        assert job_report["body"]["verdict"]["kind"] and job_report["summary"]
        assert Path(job_report["path"]).is_file()
    text = workers.run_cli(["job-details", jobs[0]["task_id"]], cluster)
    assert text.returncode == 0 and "report (job," in text.stdout

    # The chord and the last-job check both fire; the report exists once.
    again = workers.run_cli(["sweep-report", sweep_id], cluster)
    assert again.returncode == 0 and "Throughput saturation" in again.stdout
    store = Store(cluster["JOBPROBE_DATABASE_URL"])
    try:
        with store.session() as session:
            kinds = [
                r["kind"]
                for r in report_reads.reports_for_sweep(reading.from_session(session), sweep_id)
            ]
            status = store_sweeps.get_sweep(session, sweep_id).status
    finally:
        store.dispose()
    assert kinds == ["sweep"] and status == "done"
