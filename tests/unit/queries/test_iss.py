"""queries.iss against the ISS stand-in on loopback (the remote service we do not own) and the
store's mirrored ISS jobs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jobprobe.iss_client import IssClient
from jobprobe.iss_client.devserver import DevServer
from jobprobe.iss_client.errors import IssNotFoundError
from jobprobe.queries import iss
from jobprobe.queries.filters import JobFilters
from jobprobe.store import jobs as store_jobs
from jobprobe.store.db import Store
from jobprobe.store.status import JobSource


@pytest.fixture
def dev() -> Iterator[DevServer]:
    """ISS whose jobs do not move during a test (one status per hour)."""
    with DevServer(port=0, step_s=3600.0, seed_jobs=30) as server:
        yield server


@pytest.fixture
def client(dev: DevServer) -> Iterator[IssClient]:
    with IssClient(dev.url, dev.url, dev.token_url, dev.client_id, "dev-secret") as c:
        yield c


def test_jobs_job_platforms_and_files_as_iss_gives_them(dev: DevServer, client: IssClient) -> None:
    listed = iss.iss_jobs(client, limit=5)["jobs"]
    assert len(listed) == 5 and all(j["JobRequestID"] in dev.jobs for j in listed)
    isim = iss.iss_jobs(client, job_type="ISIM", limit=100)["jobs"]
    assert isim and {j["Type"] for j in isim} == {"ISIM"}
    one = iss.iss_job(client, listed[0]["JobRequestID"])
    assert one["JobRequestStatus"] == dev.job_status(listed[0]["JobRequestID"])
    platforms = iss.iss_platforms(client)["platforms"]
    assert [p["PlatformID"] for p in platforms] == ["gnr-ap-2s", "srf-sp-1s", "lnl-m"]
    assert iss.iss_platform(client, "lnl-m")["Cores"] == 8
    done = next(j for j in sorted(dev.jobs) if dev.job_status(j) == "complete")
    files = iss.iss_files(client, done)
    kind = {"IWPS": "iwps", "NovaIWPS": "iwps", "ISIM": "isim"}.get(dev.jobs[done].type, "coho")
    assert (files["job"], files["kind"]) == (done, kind)
    assert {f["name"] for f in files["files"]} == {
        "sim.out",
        "sim.summary.profile",
        "cpi-stack.png",
    }
    with pytest.raises(IssNotFoundError):
        iss.iss_job(client, "JR-NOPE")


def test_file_kind_of_kinds_and_job_types() -> None:
    assert [iss.file_kind(k) for k in ("ISIM", "iwps", "NovaIWPS")] == ["isim", "iwps", "iwps"]


def test_tracked_jobs_are_the_stores_iss_jobs(store: Store) -> None:
    with store.session() as s:
        store_jobs.create_job(s, tool="python", queue="cpu")
        mirrored = store_jobs.create_job(
            s, tool="iss:IWPS", queue="iss", source=JobSource.ISS, external_id="JR-000001"
        ).id
    page = iss.tracked_jobs(store, JobFilters(source="local"))
    assert [j["task_id"] for j in page["jobs"]] == [mirrored]  # source=iss wins over local
    assert page["jobs"][0]["external_id"] == "JR-000001"
