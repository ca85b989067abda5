"""Tracking one ISS job, the step the poll task and ``jobprobe iss track`` share: against the ISS
stand-in on loopback and a SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from jobprobe.iss_client import IssClient
from jobprobe.iss_client.devserver import DevServer
from jobprobe.store import job_reads
from jobprobe.store import jobs as store_jobs
from jobprobe.store.db import Store
from jobprobe.tasks import iss as iss_tasks


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'jp.db'}")
    yield store
    store.dispose()


def client_of(dev: DevServer) -> IssClient:
    return IssClient(dev.url, dev.url, dev.token_url, dev.client_id, "dev-secret")


def details(store: Store, job_id: str) -> list[str]:
    with store.reader() as reader:
        return [e["detail"] or "" for e in job_reads.status_history(reader, job_id)]


def test_tracking_gives_up_at_the_deadline_on_a_job_still_running(sqlite_store: Store) -> None:
    with DevServer(port=0, step_s=3600.0, seed_jobs=0) as dev, client_of(dev) as client:
        external_id = dev.create_job(job_type="IWPS")
        started = store_jobs.utcnow() - timedelta(seconds=30)
        step = iss_tasks.track_step(
            client, sqlite_store, external_id, queue="iss", started=started, deadline_s=10.0,
            done_polls=0,
        )  # fmt: skip
    assert step.gave_up and not step.outcome.settled
    assert any(
        d.startswith("tracking gave up after") for d in details(sqlite_store, step.outcome.job_id)
    )


def test_a_job_before_its_deadline_is_polled_again(sqlite_store: Store) -> None:
    with DevServer(port=0, step_s=3600.0, seed_jobs=0) as dev, client_of(dev) as client:
        external_id = dev.create_job(job_type="IWPS")
        step = iss_tasks.track_step(
            client, sqlite_store, external_id, queue="iss", started=store_jobs.utcnow(),
            deadline_s=3600.0, done_polls=0,
        )  # fmt: skip
    assert not step.gave_up and not step.outcome.settled and step.done_polls == 0


def test_follow_polls_in_the_foreground_until_the_job_settles(sqlite_store: Store) -> None:
    polled: list[str] = []
    with DevServer(port=0, step_s=0.05, seed_jobs=0) as dev, client_of(dev) as client:
        external_id = dev.create_job(job_type="BiosValidation")
        step = iss_tasks.follow(
            client, sqlite_store, external_id, queue="iss", deadline_s=60.0, interval_s=0.05,
            on_poll=polled.append,
        )  # fmt: skip
    assert step.outcome.settled and not step.gave_up
    assert polled and set(polled) == {step.outcome.job_id}
    with sqlite_store.session() as session:
        job = store_jobs.get_job(session, step.outcome.job_id)
        assert job.status == "success" and job.artifacts
