"""queries.comparison on both backends: two jobs, two label groups, the thresholds, and the
typed errors for an unknown job, an empty group and a bad threshold."""

from __future__ import annotations

import pytest

from jobprobe.queries import comparison, errors
from jobprobe.store import jobs as store_jobs
from jobprobe.store.db import Store
from jobprobe.store.status import JobStatus


def finished(store: Store, variant: str, duration: float) -> str:
    with store.session() as s:
        job = store_jobs.create_job(s, tool="python", queue="cpu", labels={"variant": variant})
        store_jobs.set_status(s, job, JobStatus.SUCCESS)
        job.duration_s, job.cpu_total_s, job.memory_peak_mb = duration, duration, 100.0
        return job.id


def test_two_jobs_past_the_threshold_are_an_unconfirmed_change(store: Store) -> None:
    base, cand = finished(store, "a", 10.0), finished(store, "b", 13.0)
    facts = comparison.compare_jobs(store, [base[:8]], [cand[:8]])
    assert (facts["baseline_ids"], facts["candidate_ids"]) == ([base], [cand])
    assert facts["regressed"] is False  # one run a side cannot confirm a change
    assert "duration" in " ".join(facts["unconfirmed"])
    loose = comparison.compare_jobs(
        store, [base], [cand], thresholds=comparison.thresholds({"duration": 50, "cost": 50})
    )
    assert not loose["unconfirmed"]


def test_label_groups_compare_their_finished_jobs(store: Store) -> None:
    a = [finished(store, "a", d) for d in (10.0, 10.2, 9.9)]
    b = [finished(store, "b", d) for d in (20.0, 20.3, 19.8)]
    assert comparison.label_group(store, {"variant": "a"}) == a
    facts = comparison.compare_groups(store, {"variant": "a"}, {"variant": "b"}, tool="python")
    assert (facts["baseline_ids"], facts["candidate_ids"]) == (a, b)
    assert facts["regressed"] is True


def test_bad_input_is_typed(store: Store) -> None:
    job = finished(store, "a", 1.0)
    with pytest.raises(errors.NotFound, match="no job 'feedbeef99'"):
        comparison.compare_jobs(store, [job], ["feedbeef99"])
    with pytest.raises(errors.BadFilter, match="no finished jobs in the candidate group"):
        comparison.compare_groups(store, {"variant": "a"}, {"variant": "zzz"})
    with pytest.raises(errors.BadFilter, match="unknown --threshold 'speed'"):
        comparison.thresholds({"speed": 1})
    with pytest.raises(errors.BadFilter, match="--threshold memory='lots' is not a number"):
        comparison.thresholds({"memory": "lots"})


def test_two_jobs_or_two_label_groups_and_nothing_else(store: Store) -> None:
    a, b = finished(store, "a", 10.0), finished(store, "b", 10.5)
    both = comparison.compare(store, [a, b], {}, {})
    assert (both["baseline_ids"], both["candidate_ids"]) == ([a], [b])
    groups = comparison.compare(store, [], {"variant": "a"}, {"variant": "b"})
    assert (groups["baseline_ids"], groups["candidate_ids"]) == ([a], [b])
    for jobs, base, cand in [([a], {}, {}), ([a, b, a], {}, {}), ([a, b], {"variant": "a"}, {}),
                             ([], {"variant": "a"}, {}), ([], {}, {})]:  # fmt: skip
        with pytest.raises(errors.BadFilter, match="say how"):
            comparison.compare(store, jobs, base, cand, usage="say how")
