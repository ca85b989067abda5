"""Store queries on both backends: SQLite (embedded) and the real PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from jobprobe.store import attempts, errors, job_reads, reading, records, sample_reads
from jobprobe.store import jobs as q
from jobprobe.store import samples as store_samples
from jobprobe.store.db import Store
from jobprobe.store.spool import Spool
from jobprobe.store.status import JobStatus


def make(store: Store, **kwargs: object) -> str:
    defaults: dict[str, object] = {
        "tool": "python",
        "queue": "cpu",
        "script_name": "a.py",
        "script_content": "print(1)",
    }
    defaults.update(kwargs)
    with store.session() as s:
        return q.create_job(s, **defaults).id  # type: ignore[arg-type]


def test_lifecycle_attempts_and_record(store: Store) -> None:
    job_id = make(store, labels={"team": "cfd"}, params={"n": 3})
    with store.transaction() as c:
        claim = attempts.begin_attempt(c, job_id, worker="w1@h", max_attempts=2)
        assert claim is not None and claim.attempt == 1 and claim.params == {"n": 3}
        assert (claim.tool, claim.script_name, claim.script_content) == (
            "python",
            "a.py",
            "print(1)",
        )
    with store.session() as s:
        assert q.get_job(s, job_id).status == "running"
    outcome = {"status": "success", "returncode": 0, "duration_s": 1.5, "cpu_total_s": 1.2,
               "memory_peak_mb": 50.0, "detailed_profile": {"samples_collected": 3}}  # fmt: skip
    with store.transaction() as c:
        attempts.finish_job(c, job_id, outcome)
    with store.transaction() as c:
        assert (
            attempts.begin_attempt(c, job_id, worker="w2@h", max_attempts=2) is None
        )  # a duplicate
    with store.session() as s:
        rec = records.to_record(
            q.get_job(s, job_id[:8]),
            events=job_reads.status_history(reading.from_session(s), job_id),
        )
    assert rec["status"] == "success" and rec["resource_usage"]["cpu_total_seconds"] == 1.2
    assert rec["labels"] == {"team": "cfd"} and rec["params"] == {"n": 3}
    assert [e["status"] for e in rec["status_history"]] == ["queued", "running", "success"]


def test_claim_measures_queue_wait_and_finish_takes_a_prefix(store: Store) -> None:
    job_id = make(store, submitted_at=datetime.now(UTC) - timedelta(seconds=30))
    with store.transaction() as c:
        assert attempts.begin_attempt(c, job_id[:8], worker="w1", max_attempts=3) is not None
    with store.session() as s:
        job = q.get_job(s, job_id)
        assert (job.status, job.worker, job.attempts) == ("running", "w1", 1)
        assert job.queue_wait_s == pytest.approx(30.0, abs=5.0)
    with store.transaction() as c:
        attempts.finish_job(c, job_id[:10], {"status": "failed", "returncode": 3, "error": "boom"})
    with store.session() as s:
        job = q.get_job(s, job_id)
        assert (job.status, job.returncode, job.error) == ("failed", 3, "boom")
        assert [e["status"] for e in job_reads.status_history(reading.from_session(s), job_id)] == [
            "queued",
            "running",
            "failed",
        ]
    with store.transaction() as c, pytest.raises(errors.JobNotFound):
        attempts.finish_job(c, "0123456789abcdef", {"status": "success"})


def test_lost_after_max_attempts(store: Store) -> None:
    job_id = make(store)
    with store.transaction() as c:  # a lease that has expired by the next claim
        claim = attempts.begin_attempt(c, job_id, worker="w1", max_attempts=1, lease_seconds=0)
        assert claim is not None
    with store.transaction() as c:  # the worker died; the message comes back
        assert attempts.begin_attempt(c, job_id, worker="w2", max_attempts=1) is None
    with store.session() as s:
        job = q.get_job(s, job_id)
        assert job.status == "lost" and "worker lost" in (job.error or "")


def test_a_redelivered_job_asked_to_cancel_ends_cancelled_without_running(store: Store) -> None:
    job_id = make(store)
    with store.transaction() as c:
        assert attempts.begin_attempt(c, job_id, worker="w1", max_attempts=3) is not None
    with store.session() as s:
        q.request_cancel(s, job_id)  # running: the flag waits for the worker's next check
    with store.transaction() as c:  # its lease alive: a second delivery does nothing
        assert attempts.begin_attempt(c, job_id, worker="w2", max_attempts=3) is None
    with store.session() as s:
        assert q.get_job(s, job_id).status == "running"
        q.get_job(s, job_id).lease_expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with store.transaction() as c:  # the worker died; the message comes back
        assert attempts.begin_attempt(c, job_id, worker="w2", max_attempts=3) is None
    with store.session() as s:
        job = q.get_job(s, job_id)
        assert (job.status, job.attempts) == ("cancelled", 1) and job.ended_at is not None
        assert [e["status"] for e in job_reads.status_history(reading.from_session(s), job_id)] == [
            "queued", "running", "cancelled"
        ]  # fmt: skip


def test_cancel_queued_and_running(store: Store) -> None:
    queued, running = make(store), make(store)
    with store.transaction() as c:
        attempts.begin_attempt(c, running, worker="w", max_attempts=3)
    with store.session() as s:
        assert q.request_cancel(s, queued).status == "cancelled"
        assert q.request_cancel(s, running).status == "running"
        assert q.cancel_requested(s, running)


def test_unknown_and_ambiguous_ids(store: Store) -> None:
    with store.session() as s, pytest.raises(errors.JobNotFound):
        q.get_job(s, "ffffffffff")
    with store.session() as s:
        for suffix in ("1", "2"):
            q.create_job(s, tool="t", queue="cpu", job_id="abcdef" + suffix * 26)
    with store.session() as s, pytest.raises(errors.AmbiguousJobId):
        q.get_job(s, "abcdef")


def test_history_filters_and_cursor(store: Store) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(7):
        make(store, tool="python" if i % 2 else "bash", labels={"team": "a" if i < 4 else "b"},
             submitted_at=base + timedelta(minutes=i))  # fmt: skip
    with store.session() as s:
        r = reading.from_session(s)
        page1 = job_reads.job_history(r, limit=3)
        page2 = job_reads.job_history(r, limit=3, cursor=job_reads.encode_cursor(page1[-1]))
        assert [j["submitted_at"].minute for j in page1 + page2] == [6, 5, 4, 3, 2, 1]
        assert {j["tool"] for j in job_reads.job_history(r, tool="bash", limit=10)} == {"bash"}
        assert len(job_reads.job_history(r, labels={"team": "b"}, limit=10)) == 3
        assert len(job_reads.job_history(r, since=base + timedelta(minutes=5), limit=10)) == 2


def test_stats_groups_percentiles_and_labels(store: Store) -> None:
    for i, status in enumerate(["success", "success", "failed", "success"]):
        job_id = make(store, labels={"team": "cfd"})
        with store.transaction() as c:
            attempts.begin_attempt(c, job_id, worker="w", max_attempts=3)
            attempts.finish_job(
                c, job_id, {"status": status, "duration_s": float(i + 1), "cpu_total_s": 1.0}
            )
    with store.session() as s:
        (row,) = job_reads.job_stats(reading.from_session(s), by="label:team")
    assert row["group"] == "cfd" and row["jobs"] == 4 and row["succeeded"] == 3
    assert row["success_rate"] == pytest.approx(0.75)
    assert row["duration_p50_s"] == pytest.approx(2.5) and row["cpu_seconds"] == pytest.approx(4.0)
    with store.session() as s, pytest.raises(errors.StoreError, match="cannot group by"):
        job_reads.job_stats(reading.from_session(s), by="colour")


def test_samples_round_trip_with_nulls_and_extras(store: Store) -> None:
    job_id = make(store)
    now = time.time()
    samples = [
        {"t": now + i * 0.5, "elapsed_s": i * 0.5, "proc_cpu_percent": 100.0 * i, "proc_rss_mb": 10.0,
         "proc_count": 2, "gpu_util_percent": None, "cpu_per_core": [1.0, 2.0], "gpu0_temp_c": None}
        for i in range(5)
    ]  # fmt: skip
    assert store_samples.write_samples(store, job_id, 1, samples) == 5
    with store.session() as s:
        series = sample_reads.load_timeseries(reading.from_session(s), job_id)
        latest = store_samples.latest_sample(s, job_id)
        assert store_samples.count_samples(s, job_id) == 5
    assert series["proc_cpu_percent"] == [0.0, 100.0, 200.0, 300.0, 400.0]
    assert series["gpu_util_percent"] == [None] * 5  # not measured stays null, never 0
    assert latest is not None and latest["proc_cpu_percent"] == 400.0
    # Numeric extras become columns too (a group's memory, per-GPU figures); lists do not.
    assert series["gpu0_temp_c"] == [None] * 5 and "cpu_per_core" not in series
    assert "gpu0_temp_c" in latest and "cpu_per_core" not in latest


def test_spool_keeps_outcomes_until_the_database_takes_them(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.put("job1", {"outcome": {"status": "success"}})
    spool.put("job2", {"outcome": {"status": "failed"}})
    seen: list[str] = []

    def flaky(job_id: str, payload: dict[str, object]) -> None:
        if job_id == "job2":
            raise errors.StoreUnavailable("down")
        seen.append(job_id)

    assert spool.replay(flaky) == 1 and seen == ["job1"]
    assert [p.stem for p in spool.pending()] == ["job2"]
    assert spool.replay(lambda job_id, payload: None) == 1 and spool.pending() == []


def test_unreachable_database_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(
        errors.StoreUnavailable, match=r"cannot reach the database .*127\.0\.0\.1:1"
    ):
        Store("postgresql+psycopg://postgres@127.0.0.1:1/nope")


def test_timestamps_are_stored_in_utc_and_read_back_aware(store: Store) -> None:
    paris = timezone(timedelta(hours=1))
    at = datetime(2026, 11, 20, 11, 30, tzinfo=paris)
    job_id = make(store, submitted_at=at)
    with store.session() as s:
        job = q.get_job(s, job_id)
        job.started_at = datetime(2026, 11, 20, 10, 31)  # naive: taken as UTC
    with store.session() as s:
        job = q.get_job(s, job_id)
        assert job.submitted_at == at and job.submitted_at.tzinfo == UTC
        assert job.started_at == datetime(2026, 11, 20, 10, 31, tzinfo=UTC)
        (event,) = job_reads.status_history(reading.from_session(s), job_id)
        assert event["at"].utcoffset() == timedelta(0) and event["at"] == at
        since = datetime(2026, 11, 20, 11, 15, tzinfo=paris)  # 10:15 UTC: before the job
        assert [j["id"] for j in job_reads.job_history(reading.from_session(s), since=since)] == [
            job_id
        ]


def test_status_reads_back_as_the_enum(store: Store) -> None:
    job_id = make(store)
    with store.session() as s:
        job = q.get_job(s, job_id)
        assert job.status is JobStatus.QUEUED
        q.request_cancel(s, job_id)
    with store.session() as s:
        assert q.get_job(s, job_id).status is JobStatus.CANCELLED
        assert records.to_record(q.get_job(s, job_id))["status"] == "cancelled"
