"""ISS models keep what they do not know: unknown fields, types and statuses."""

from __future__ import annotations

from datetime import UTC, datetime

from jobprobe.iss_client import (
    KNOWN_STATUSES,
    SETTLED_STATUSES,
    TERMINAL_STATUSES,
    FileList,
    IssError,
    IssRateLimitedError,
    IssServerError,
    IssTransientError,
    Job,
    JobPage,
    Platform,
    is_transient,
)
from jobprobe.iss_client.auth import ClientCredentials

JOB = {
    "JobRequestID": "JR-1",
    "Name": "q",
    "Type": "QuantumSim",
    "JobRequestStatus": "hibernating",
    "Metadata": {"RequestedOn": "2026-11-22T10:00:00.000Z", "Shard": 3},
    "FutureField": {"a": [1, 2]},
}


def test_unknown_type_status_and_fields_are_kept() -> None:
    job = Job.model_validate(JOB)
    assert job.type == "QuantumSim" and not job.is_known_type
    assert job.status == "hibernating" and not job.is_known_status and not job.is_terminal
    raw = job.raw()
    assert raw["FutureField"] == {"a": [1, 2]}
    assert raw["Metadata"]["Shard"] == 3
    assert job.requested_at == datetime(2026, 11, 22, 10, tzinfo=UTC)


def test_page_of_mixed_jobs_drops_nothing() -> None:
    second = {"JobRequestID": 7, "Type": "IWPS", "JobRequestStatus": "done"}
    page = JobPage.model_validate({"Jobs": [JOB, second], "Count": 2, "ContinuationToken": None})
    assert [j.job_id for j in page.jobs] == ["JR-1", "7"]
    assert page.jobs[1].is_terminal and page.jobs[1].is_known_type


def test_bad_timestamp_is_none_not_an_error() -> None:
    job = Job.model_validate({"JobRequestID": "x", "Metadata": {"RequestedOn": "last tuesday"}})
    assert job.requested_at is None


def test_status_sets() -> None:
    assert {"error", "done", "released", "complete"} == TERMINAL_STATUSES
    assert {"error", "released", "complete"} == SETTLED_STATUSES
    assert TERMINAL_STATUSES <= KNOWN_STATUSES and "checkpointing" in KNOWN_STATUSES


def test_platform_and_files_tolerate_shapes() -> None:
    p = Platform.model_validate({"PlatformID": 12, "PlatformName": "GNR-AP", "Sockets": 2})
    assert p.platform_id == "12" and p.raw()["Sockets"] == 2
    files = FileList.model_validate({"files": ["sim.out", {"name": "d", "type": "dir"}]})
    assert [f.name for f in files.files] == ["sim.out", "d"] and files.files[1].is_dir


def test_error_hierarchy_splits_transient_from_permanent() -> None:
    assert is_transient(IssServerError(status_code=503))
    err = IssRateLimitedError("slow down", retry_after=2.0)
    assert isinstance(err, IssTransientError) and err.status_code == 429 and err.retry_after == 2
    assert not is_transient(IssError())
    assert str(IssError()) == "The Intel Simulation Service request failed."


def test_credentials_repr_hides_secret() -> None:
    creds = ClientCredentials(client_id="cid", client_secret="hunter2-secret")  # type: ignore[arg-type]
    assert "hunter2" not in repr(creds) and "hunter2" not in str(creds.model_dump())


def test_artifact_kind_and_entries_as_artifacts() -> None:
    from jobprobe.iss_client import models

    assert models.artifact_kind({"Type": "NovaIWPS"}) == "iwps"
    assert models.artifact_kind({"Type": "WorkloadJob"}) == "coho"
    assert models.artifact_kind({"Type": "IWPS", "Execution": {"Kind": "ISIM"}}) == "isim"
    entry = FileList.model_validate({"files": ["sim.out"]}).files[0]
    assert entry.artifact("iwps") == {
        "name": "sim.out", "path": "sim.out", "size": None, "type": "file", "kind": "iwps",
    }  # fmt: skip
