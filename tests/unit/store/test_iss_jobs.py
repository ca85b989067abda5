"""ISS jobs in the store (SQLite): status mapping, one event per change, labels, times, sync state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from jobprobe.store import iss_jobs, job_reads
from jobprobe.store import jobs as store_jobs
from jobprobe.store.db import Store
from jobprobe.store.records import to_record

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
PATH = (
    "requested",
    "queued",
    "allocating",
    "allocated",
    "booting",
    "inprogress",
    "done",
    "complete",
)


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def record(
    status_index: int,
    *,
    path: tuple[str, ...] = PATH,
    job_id: str = "JR-000001",
    job_type: str = "IWPS",
    sub_states: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """An ISS job record as the API serves it, ``status_index`` steps (1 min each) along ``path``."""
    entered = [T0 + timedelta(minutes=i) for i in range(status_index + 1)]
    rec: dict[str, Any] = {
        "JobRequestID": job_id,
        "Name": f"{job_type.lower()}-run",
        "Type": job_type,
        "JobRequestStatus": path[status_index],
        "JobRequestStatusDetails": "Simulation exited with code 3"
        if path[status_index] == "error"
        else "ok",
        "PlatformName": "GNR-AP",
        "Queue": "batch",
        "Metadata": {
            "RequestedOn": iso(T0),
            "LastUpdatedOn": iso(entered[-1]),
            "RequestedBy": "asha.rao",
        },
        **extra,
    }
    if sub_states:
        rec["SubStates"] = [
            {"State": s, "EnteredOn": iso(t)} for s, t in zip(path, entered, strict=False)
        ]
    return rec


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'jobprobe.db'}")
    try:
        yield s
    finally:
        s.dispose()


def history(store: Store, job_id: str) -> list[tuple[str, str | None]]:
    with store.reader() as reader:
        return [(e["status"], e["detail"]) for e in job_reads.status_history(reader, job_id)]


@pytest.mark.parametrize(
    ("iss", "expected"),
    [
        ("requested", "queued"), ("allocated", "queued"), ("booting", "running"),
        ("inprogress", "running"), ("checkpointing", "running"), ("releasing", "running"),
        ("done", "success"), ("complete", "success"), ("released", "success"),
        ("error", "failed"), ("INPROGRESS", "running"),
    ],
)  # fmt: skip
def test_status_mapping(iss: str, expected: str) -> None:
    assert iss_jobs.jobprobe_status(iss) == expected


def test_unknown_status_keeps_the_previous_one() -> None:
    assert iss_jobs.jobprobe_status("quarantined", "running") == "running"
    assert iss_jobs.jobprobe_status("quarantined") == "queued"
    assert iss_jobs.jobprobe_status(None) == "queued"


def test_first_sight_backfills_history_from_substates(store: Store) -> None:
    with store.session() as session:
        job, changed = iss_jobs.upsert_iss_job(session, record(5), queue="iss")
        job_id = job.id
    assert changed
    assert history(store, job_id) == [
        ("queued", "iss: requested"), ("queued", "iss: queued"), ("queued", "iss: allocating"),
        ("queued", "iss: allocated"), ("running", "iss: booting"), ("running", "iss: inprogress"),
    ]  # fmt: skip
    with store.session() as session:
        rec = to_record(store_jobs.get_job(session, job_id))
    assert rec["source"] == "iss" and rec["external_id"] == "JR-000001"
    assert rec["status"] == "running" and rec["tool"] == "iss:IWPS"
    assert rec["script"] == "iwps-run" and rec["queue"] == "iss"
    assert rec["labels"] == {
        "iss_type": "IWPS", "platform": "GNR-AP", "requested_by": "asha.rao", "iss_queue": "batch",
    }  # fmt: skip
    assert rec["raw"]["JobRequestStatus"] == "inprogress"
    assert datetime.fromisoformat(rec["submitted_at"]) == T0
    assert datetime.fromisoformat(rec["start_time"]) == T0 + timedelta(minutes=4)
    assert rec["end_time"] is None and rec["duration_seconds"] is None


def test_repolling_adds_one_event_per_change_and_none_when_unchanged(store: Store) -> None:
    with store.session() as session:
        job, _ = iss_jobs.upsert_iss_job(session, record(1), queue="iss")
        job_id = job.id
    with store.session() as session:
        _, changed = iss_jobs.upsert_iss_job(session, record(1), queue="iss")
    assert not changed
    assert len(history(store, job_id)) == 2
    with store.session() as session:
        iss_jobs.upsert_iss_job(session, record(5), queue="iss")
    with store.session() as session:
        _, changed = iss_jobs.upsert_iss_job(session, record(7), queue="iss")
        assert changed
        _, changed = iss_jobs.upsert_iss_job(session, record(7), queue="iss")
        assert not changed
    events = history(store, job_id)
    assert [d for _, d in events] == [f"iss: {s}" for s in PATH]
    assert events[-1] == ("success", "iss: complete")
    with store.session() as session:
        job = store_jobs.get_job(session, job_id)
        assert job.status == "success" and job.raw is not None
        assert job.raw["JobRequestStatus"] == "complete"
        # started at booting (minute 4), ended at done (minute 6)
        assert job.duration_s == pytest.approx(120.0)


def test_without_substates_each_status_change_is_one_event(store: Store) -> None:
    with store.session() as session:
        job, _ = iss_jobs.upsert_iss_job(session, record(0, sub_states=False), queue="iss")
        job_id = job.id
    for index in (0, 5, 5, 6, 6, 7):
        with store.session() as session:
            iss_jobs.upsert_iss_job(session, record(index, sub_states=False), queue="iss")
    assert history(store, job_id) == [
        ("queued", "iss: requested"), ("running", "iss: inprogress"),
        ("success", "iss: done"), ("success", "iss: complete"),
    ]  # fmt: skip


def test_error_keeps_the_reason(store: Store) -> None:
    path = (*PATH[:6], "error")
    with store.session() as session:
        job, _ = iss_jobs.upsert_iss_job(session, record(6, path=path), queue="iss")
        assert job.status == "failed" and job.error == "Simulation exited with code 3"
        assert job.ended_at is not None and job.duration_s == pytest.approx(120.0)


def test_unknown_type_and_status_are_kept(store: Store) -> None:
    rec = record(0, path=("quarantined",), job_type="QuantumSim", Novel={"x": 1})
    with store.session() as session:
        job, _ = iss_jobs.upsert_iss_job(session, rec, queue="iss")
        job_id = job.id
        assert job.tool == "iss:QuantumSim" and job.status == "queued"
        assert job.raw is not None and job.raw["Novel"] == {"x": 1}
    assert history(store, job_id) == [("queued", "iss: quarantined")]


def test_detail_fields_survive_a_list_shaped_update(store: Store) -> None:
    detail = record(5, Execution={"Kind": "iwps"}, ExecutionParameters={"Threads": 16})
    with store.session() as session:
        job, _ = iss_jobs.upsert_iss_job(session, detail, queue="iss")
        job_id = job.id
    with store.session() as session:
        iss_jobs.upsert_iss_job(session, record(6), queue="iss")
    with store.session() as session:
        job = store_jobs.get_job(session, job_id)
        assert job.raw is not None and job.raw["Execution"] == {"Kind": "iwps"}
        assert job.raw["JobRequestStatus"] == "done" and job.params == {"Threads": 16}


def test_iss_jobs_appear_in_history_and_stats_by_source(store: Store) -> None:
    with store.session() as session:
        iss_jobs.upsert_iss_job(session, record(7), queue="iss")
        iss_jobs.upsert_iss_job(session, record(2, job_id="JR-000002"), queue="iss")
        store_jobs.create_job(session, tool="python", queue="cpu")
    with store.reader() as reader:
        found = job_reads.job_history(reader, source="iss")
        assert sorted(j["external_id"] or "" for j in found) == ["JR-000001", "JR-000002"]
        stats = job_reads.job_stats(reader, by="source")
    by_source = {row["group"]: row for row in stats}
    assert by_source["iss"]["jobs"] == 2 and by_source["iss"]["succeeded"] == 1


def test_artifacts_notes_and_sync_state(store: Store) -> None:
    with store.session() as session:
        job, _ = iss_jobs.upsert_iss_job(session, record(7), queue="iss")
        job_id = job.id
        files = [{"name": "sim.out", "path": "sim.out", "size": 10, "type": "file", "kind": "iwps"}]
        iss_jobs.set_iss_artifacts(session, job_id, files)
        iss_jobs.note_tracking(session, job_id, "tracking gave up", error="deadline")
        assert iss_jobs.get_sync_state(session, "iss.last_sync") is None
        iss_jobs.set_sync_state(session, "iss.last_sync", "a")
        iss_jobs.set_sync_state(session, "iss.last_sync", "b")
    with store.session() as session:
        job = store_jobs.get_job(session, job_id)
        assert job.artifacts == files and job.error == "deadline" and job.status == "success"
        assert iss_jobs.get_sync_state(session, "iss.last_sync") == "b"
        iss_jobs.delete_sync_state(session, "iss.last_sync")
        assert iss_jobs.get_sync_state(session, "iss.last_sync") is None
    assert history(store, job_id)[-1] == ("success", "tracking gave up")


def test_last_sync_and_tracking_marks(store: Store) -> None:
    seen = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    with store.session() as session:
        assert iss_jobs.last_sync(session) is None
        iss_jobs.set_last_sync(session, seen)
        iss_jobs.mark_tracked(session, "J-1", store_jobs.utcnow())
        iss_jobs.mark_tracked(session, "J-2", store_jobs.utcnow() - timedelta(hours=2))
    with store.session() as session:
        assert iss_jobs.last_sync(session) == seen
        assert iss_jobs.is_tracked(session, "J-1", within_s=60)
        assert not iss_jobs.is_tracked(session, "J-2", within_s=3600)  # a stale mark
        assert not iss_jobs.is_tracked(session, "J-3", within_s=3600)
        iss_jobs.untrack(session, "J-1")
    with store.session() as session:
        assert not iss_jobs.is_tracked(session, "J-1", within_s=60)
