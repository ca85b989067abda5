"""queries.sweeps on both backends: the listing with job counts, a sweep's facts while it
runs (every point measured or null), and unknown ids and bad values as typed errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobprobe.queries import errors, sweeps
from jobprobe.store import jobs as store_jobs
from jobprobe.store import sweeps as store_sweeps
from jobprobe.store.db import Store
from jobprobe.store.status import JobStatus


def make_sweep(store: Store, tool: str, statuses: list[JobStatus]) -> str:
    """A sweep over n=1.. with one job per status given (metrics on the successful ones)."""
    with store.session() as s:
        sweep = store_sweeps.create_sweep(
            s, tool=tool, script_name="load.py", vary_name="n",
            vary_values=list(range(1, len(statuses) + 1)),
        )  # fmt: skip
        for n, status in enumerate(statuses, start=1):
            job = store_jobs.create_job(
                s, tool=tool, queue="cpu", params={"n": n}, sweep_id=sweep.id
            )
            store_jobs.set_status(s, job, status)
            if status == JobStatus.SUCCESS:
                job.metrics = {"throughput": 100.0 * n, "p99_ms": 5.0 * n}
        return sweep.id


def test_the_listing_counts_each_sweeps_jobs(store: Store) -> None:
    older = make_sweep(store, "python", [JobStatus.SUCCESS, JobStatus.FAILED])
    newer = make_sweep(store, "bash", [JobStatus.SUCCESS, JobStatus.RUNNING, JobStatus.QUEUED])
    listed = sweeps.list_sweeps(store)["sweeps"]
    assert [s["sweep_id"] for s in listed] == [newer, older]
    assert listed[0]["jobs"] == {"total": 3, "ended": 1, "succeeded": 1}
    assert listed[1]["jobs"] == {"total": 2, "ended": 2, "succeeded": 1}
    assert (listed[1]["vary"], listed[1]["values"], listed[1]["sweep_status"]) == (
        "n", [1, 2], "running",
    )  # fmt: skip
    assert [s["sweep_id"] for s in sweeps.list_sweeps(store, tool="python")["sweeps"]] == [older]
    assert sweeps.list_sweeps(store, status="done") == {"sweeps": []}


def test_a_running_sweeps_report_has_its_facts_so_far(store: Store, tmp_path: Path) -> None:
    sweep_id = make_sweep(
        store, "python", [JobStatus.SUCCESS, JobStatus.SUCCESS, JobStatus.RUNNING]
    )
    facts = sweeps.sweep_report(store, sweep_id[:8])
    assert facts["sweep_id"] == sweep_id
    assert facts["jobs"]["total"] == 3 and facts["jobs"]["ended"] == 2
    assert facts["report_path"] is None  # nothing stored yet
    assert [p["throughput"] for p in facts["points"]] == [100.0, 200.0]
    now, path = sweeps.reported_facts(store, sweep_id)
    assert path is None and now["jobs_fingerprint"] == facts["jobs_fingerprint"]


def test_unknown_sweeps_and_bad_values_are_typed_errors(store: Store) -> None:
    with pytest.raises(errors.NotFound, match="no sweep 'abcdef1234'"):
        sweeps.sweep_report(store, "abcdef1234")
    with pytest.raises(errors.IdTooShort):
        sweeps.reported_facts(store, "abc")
    with pytest.raises(errors.BadFilter, match="unknown sweep status 'lost'"):
        sweeps.list_sweeps(store, status="lost")
    with pytest.raises(errors.BadFilter, match="limit must be"):
        sweeps.list_sweeps(store, limit=0)
