"""Leases with fencing, cancel of a job whose worker is gone, and reconciliation's sweep, on
both backends (SQLite and the real PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobprobe.monitor.recorder import AttemptLease, write_payload
from jobprobe.store import attempts, job_reads, reading, reconciliation, sample_reads
from jobprobe.store import jobs as q
from jobprobe.store import samples as store_samples
from jobprobe.store.db import Store


def make(store: Store, **kwargs: object) -> str:
    with store.session() as s:
        return q.create_job(s, tool="python", queue="cpu", **kwargs).id  # type: ignore[arg-type]


def claim(store: Store, job_id: str, worker: str, lease: float = 30.0) -> int | None:
    with store.transaction() as c:
        got = attempts.begin_attempt(c, job_id, worker=worker, max_attempts=3, lease_seconds=lease)
    return None if got is None else got.attempt


def expire(store: Store, job_id: str, ago: float = 1.0) -> None:
    with store.session() as s:
        q.get_job(s, job_id).lease_expires_at = datetime.now(UTC) - timedelta(seconds=ago)


def statuses(store: Store, job_id: str) -> list[str]:
    with store.session() as s:
        return [e["status"] for e in job_reads.status_history(reading.from_session(s), job_id)]


def test_a_live_lease_keeps_the_job_and_an_expired_one_fences_its_attempt_off(
    store: Store,
) -> None:
    job_id = make(store)
    assert claim(store, job_id, "w1") == 1
    with store.session() as s:
        job = q.get_job(s, job_id)
        assert job.lease_expires_at is not None and job.lease_expires_at > datetime.now(UTC)
    assert claim(store, job_id, "w2") is None  # a second delivery while w1 holds the lease
    expire(store, job_id)
    assert claim(store, job_id, "w2") == 2
    # Attempt 1 (frozen, now resumed) renews nothing, writes no samples and no outcome.
    with store.transaction() as c:
        assert attempts.renew_lease(c, job_id, 1, lease_seconds=30) is None
    assert store_samples.write_fenced(store, job_id, 1, [{"t": 1.0}], lease_seconds=30) is None
    write_payload(store, job_id, {"outcome": {"status": "failed"}, "attempt": 1,
                                  "samples": [{"t": 2.0}]})  # fmt: skip
    with store.transaction() as c:
        assert attempts.renew_lease(c, job_id, 2, lease_seconds=30) is False
    assert store_samples.write_fenced(store, job_id, 2, [{"t": 3.0}], lease_seconds=30) is False
    write_payload(store, job_id, {"outcome": {"status": "success"}, "attempt": 2, "samples": []})
    with store.session() as s:
        job = q.get_job(s, job_id)
        assert (job.status, job.attempts, job.worker) == ("success", 2, "w2")
        assert job.lease_expires_at is None
        assert sample_reads.load_timeseries(reading.from_session(s), job_id)["attempt"] == [2]
    assert statuses(store, job_id) == ["queued", "running", "running", "success"]


def test_the_attempt_lease_renews_and_stops_a_superseded_attempt(store: Store) -> None:
    job_id = make(store)
    assert claim(store, job_id, "w1", lease=0.3) == 1
    lease = AttemptLease(store, job_id, 1, lease_seconds=0.3)
    lease._renewed_at -= 1.0  # due: the cancel check renews
    assert lease.should_cancel() is False
    with store.session() as s:
        assert q.get_job(s, job_id).lease_expires_at > datetime.now(UTC)  # type: ignore[operator]
    expire(store, job_id)
    assert claim(store, job_id, "w2") == 2
    lease.write_samples([{"t": 1.0}])
    assert lease.superseded and lease.should_cancel() is True
    with store.session() as s:
        assert store_samples.count_samples(s, job_id) == 0


def test_cancel_of_a_running_job_whose_worker_is_gone_ends_it_at_once(store: Store) -> None:
    alive, gone = make(store), make(store)
    claim(store, alive, "w1")
    claim(store, gone, "w2")
    expire(store, gone)
    with store.session() as s:
        assert q.request_cancel(s, alive).status == "running"  # its worker stops it
        job = q.request_cancel(s, gone)
        assert job.status == "cancelled" and job.ended_at is not None
    assert statuses(store, gone) == ["queued", "running", "cancelled"]
    assert claim(store, gone, "w3") is None


class Published:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = fail

    def __call__(self, job_id: str, queue: str) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.sent.append((job_id, queue))


def sweep(
    store: Store, publish: Published, now: datetime | None = None
) -> reconciliation.SweepResult:
    with store.session() as s:
        return reconciliation.sweep(s, max_attempts=2, requeue_after=60.0, publish=publish, now=now)


def test_sweep_republishes_expired_and_orphaned_jobs_once_and_ends_the_rest(store: Store) -> None:
    old = datetime.now(UTC) - timedelta(minutes=5)
    expired, last, cancelled, running = (make(store) for _ in range(4))
    orphan, fresh = make(store, submitted_at=old), make(store)
    for job_id in (expired, last, cancelled, running):
        claim(store, job_id, "w1")
    expire(store, last)
    claim(store, last, "w2")  # attempt 2 of 2
    for job_id in (expired, last, cancelled):
        expire(store, job_id)
    with store.session() as s:
        q.request_cancel(s, running)  # alive: not the sweep's
        q.get_job(s, cancelled).cancel_requested = True
    publish = Published()
    result = sweep(store, publish)
    assert sorted(result.republished) == sorted([expired, orphan])
    assert (result.lost, result.cancelled) == ([last], [cancelled])
    assert sorted(publish.sent) == sorted([(expired, "cpu"), (orphan, "cpu")])
    again = Published()
    assert sweep(store, again).republished == [] and again.sent == []  # idempotent
    with store.session() as s:
        assert q.get_job(s, last).status == "lost" and q.get_job(s, fresh).status == "queued"
        assert q.get_job(s, cancelled).status == "cancelled"
        assert q.get_job(s, running).status == "running"
    # Three minutes on: the job whose lease expired is published again (still unclaimed), the
    # queued one is now unclaimed for long enough, the orphan waits as long as its age was
    # (5 min), and the job asked to cancel ends once its lease has expired.
    later = datetime.now(UTC) + timedelta(minutes=3)
    result = sweep(store, Published(), now=later)
    assert sorted(result.republished) == sorted([expired, fresh])
    assert result.cancelled == [running]
    result = sweep(store, Published(), now=later + timedelta(seconds=90))
    assert result.republished == [expired]


def test_a_sweep_that_cannot_publish_leaves_the_job_for_the_next(store: Store) -> None:
    orphan = make(store, submitted_at=datetime.now(UTC) - timedelta(minutes=5))
    result = sweep(store, Published(fail=True))
    assert (result.republished, result.publish_failed) == ([], [orphan])
    assert sweep(store, Published()).republished == [orphan]


@pytest.mark.parametrize("lease", [0.0])
def test_a_running_job_without_a_live_lease_is_claimable(store: Store, lease: float) -> None:
    job_id = make(store)
    assert claim(store, job_id, "w1", lease=lease) == 1
    assert claim(store, job_id, "w2") == 2


def test_a_sweep_leaves_running_jobs_alone_while_postgresql_has_just_started(
    store: Store,
) -> None:
    job_id = make(store)
    claim(store, job_id, "w1")
    expire(store, job_id)
    with store.session() as s:
        result = reconciliation.sweep(
            s, max_attempts=3, requeue_after=60.0, publish=Published(), settle_seconds=1e9
        )
    if store.dialect == "postgresql":  # a server up for less than 30 years: it waits
        assert result.settling and result.republished == []
    else:  # nothing to wait for
        assert not result.settling and result.republished == [job_id]
