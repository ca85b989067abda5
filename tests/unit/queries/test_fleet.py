"""queries.fleet on both backends: the workers the store saw lately and the queue lengths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobprobe.queries import errors, fleet
from jobprobe.store import jobs as store_jobs
from jobprobe.store.db import Store
from jobprobe.store.status import JobStatus

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def job(store: Store, queue: str, status: JobStatus, worker: str | None, ago_min: float) -> None:
    at = NOW - timedelta(minutes=ago_min)
    with store.session() as s:
        j = store_jobs.create_job(s, tool="python", queue=queue, submitted_at=at)
        if status != JobStatus.QUEUED:
            store_jobs.set_status(s, j, status, at=at)
        j.worker = worker


def test_workers_seen_and_queue_lengths(store: Store) -> None:
    job(store, "cpu", JobStatus.RUNNING, "w1@a", ago_min=600)  # running: seen however old
    job(store, "gpu", JobStatus.SUCCESS, "w1@a", ago_min=10)
    job(store, "cpu", JobStatus.SUCCESS, "w2@b", ago_min=5)
    job(store, "cpu", JobStatus.SUCCESS, "w3@c", ago_min=300)  # not seen in the last hour
    job(store, "cpu", JobStatus.QUEUED, None, ago_min=30)
    job(store, "cpu", JobStatus.QUEUED, None, ago_min=20)
    seen = fleet.workers_seen(store, within_s=3600, now=NOW)
    assert seen["since"] == (NOW - timedelta(hours=1)).isoformat()
    assert [(w["worker"], w["running"], w["jobs"], w["queues"]) for w in seen["workers"]] == [
        ("w1@a", 1, 2, ["cpu", "gpu"]),
        ("w2@b", 0, 1, ["cpu"]),
    ]
    assert seen["workers"][1]["last_seen"] == (NOW - timedelta(minutes=5)).isoformat()
    assert fleet.queue_lengths(store) == {
        "queues": [{"queue": "cpu", "queued": 2, "running": 1,
                    "oldest_queued_at": (NOW - timedelta(minutes=30)).isoformat()}],
    }  # fmt: skip
    with pytest.raises(errors.BadFilter, match="within_s must be"):
        fleet.workers_seen(store, within_s=0)
