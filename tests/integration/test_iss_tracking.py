"""ISS jobs tracked beside local ones: the ISS stand-in on loopback, a real Celery worker
process, Redis and PostgreSQL, driven through the CLI as a user would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobprobe.iss_client.devserver import DevServer
from tests import workers
from tests.polling import wait_for

pytestmark = pytest.mark.integration

ISS_TERMINAL = {"done", "complete", "released", "error"}

SUCCESS_PATH = ["requested", "queued", "allocating", "allocated", "booting", "inprogress", "done",
                "complete"]  # fmt: skip


def iss_env(dev: DevServer) -> dict[str, str]:
    return {
        "JOBPROBE_ISS_API_URL": dev.url,
        "JOBPROBE_ISS_TOKEN_URL": dev.token_url,
        "JOBPROBE_ISS_CLIENT_ID": dev.client_id,
        "JOBPROBE_ISS_CLIENT_SECRET": "dev-secret",
        "JOBPROBE_ISS_POLL_INTERVAL": "0.5",
    }


def cli_json(args: list[str], env: dict[str, str]) -> Any:
    out = workers.run_cli([*args, "--json"], env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def fast_iss() -> Iterator[DevServer]:
    """ISS whose new jobs move one status a second."""
    with DevServer(port=0, step_s=1.0, seed_jobs=5) as dev:
        yield dev


@pytest.fixture
def still_iss() -> Iterator[DevServer]:
    """ISS whose jobs do not move during a test (one status per hour)."""
    with DevServer(port=0, step_s=3600.0, seed_jobs=30) as dev:
        yield dev


def start_cluster(
    dev: DevServer, redis_url: str, pg_url: str, data_dir: Path
) -> tuple[dict[str, str], workers.WorkerProcess]:
    env = workers.jobprobe_env(
        workers.isolated_redis_db(redis_url), pg_url, data_dir, **iss_env(dev)
    )
    worker = workers.WorkerProcess(env, queues="iss,analysis", concurrency=2)
    worker.wait_ready()
    return env, worker


def test_iss_jobs_tracked_to_their_end_by_a_worker(
    fast_iss: DevServer, redis_url: str, pg_url: str, tmp_path: Path
) -> None:
    env, worker = start_cluster(fast_iss, redis_url, pg_url, tmp_path / "data")
    try:
        assert cli_json(["job-history"], env)["jobs"] == []  # the schema is in place
        ok_id = fast_iss.create_job(job_type="IWPS", name="mcf-gnr")
        bad_id = fast_iss.create_job(job_type="ISIM", fail=True)
        ok = cli_json(["iss", "track", ok_id], env)
        bad = cli_json(["iss", "track", bad_id], env)
        assert ok["source"] == "iss" and ok["external_id"] == ok_id
        assert ok["tracking"] == "queued" and ok["status"] in {"queued", "running"}

        def ended(task_id: str) -> dict[str, Any] | None:
            rec = cli_json(["job-details", task_id], env)
            settled = rec["raw"]["JobRequestStatus"] in {"complete", "error"} and rec["artifacts"]
            return rec if settled else None

        rec = wait_for(lambda: ended(ok["task_id"]), 60, "the IWPS job to complete")
        assert rec["status"] == "success" and rec["raw"]["JobRequestStatus"] == "complete"
        assert (
            rec["tool"] == "iss:IWPS"
            and rec["script"] == "mcf-gnr"
            and rec["queue"] == env["JOBPROBE_QUEUE_ISS"]
        )
        assert rec["labels"]["platform"] == "GNR-AP" and rec["labels"]["iss_type"] == "IWPS"
        details = [e["detail"] for e in rec["status_history"]]
        assert details[: len(SUCCESS_PATH)] == [f"iss: {s}" for s in SUCCESS_PATH]
        assert [e["status"] for e in rec["status_history"]][:8] == ["queued"] * 4 + [
            "running"
        ] * 2 + ["success"] * 2
        assert {a["name"] for a in rec["artifacts"]} == {
            "sim.out",
            "sim.summary.profile",
            "cpi-stack.png",
        }
        assert rec["duration_seconds"] is not None and rec["duration_seconds"] > 0
        assert rec["raw"]["Execution"]["Kind"] == "iwps"  # the detail record is kept

        failed = wait_for(lambda: ended(bad["task_id"]), 60, "the ISIM job to fail")
        assert failed["status"] == "failed" and failed["raw"]["JobRequestStatus"] == "error"
        assert "exited with code 3" in failed["error"]
        assert [a["name"] for a in failed["artifacts"]] == ["sim.out"]

        history = cli_json(["job-history", "--source", "iss"], env)
        assert {j["external_id"] for j in history["jobs"]} == {ok_id, bad_id}
        stats = cli_json(["job-stats", "--by", "source"], env)
        assert len(stats["groups"]) == 1
        group = stats["groups"][0]
        assert group["group"] == "iss" and group["jobs"] == 2 and group["succeeded"] == 1
        assert group["failed"] == 1
        log = worker.log()
        assert "jobprobe.iss.poll_iss_job" in log
        assert "'analysis_queued': True" in log  # the follow-up analysis was queued
    finally:
        worker.stop()


def test_sync_upserts_changed_jobs_and_a_second_sync_changes_nothing(
    still_iss: DevServer, redis_url: str, pg_url: str, tmp_path: Path
) -> None:
    env, worker = start_cluster(still_iss, redis_url, pg_url, tmp_path / "data")
    try:
        first = cli_json(["iss", "sync"], env)
        unfinished = [j for j in still_iss.jobs if still_iss.job_status(j) not in ISS_TERMINAL]
        assert first["seen"] == first["created"] == 30
        assert first["tracking"] == len(unfinished) > 0
        second = cli_json(["iss", "sync"], env)
        assert second["seen"] == 30 and second["created"] == second["updated"] == 0
        assert second["tracking"] == 0  # already followed by poll chains

        history = cli_json(["job-history", "--source", "iss", "--limit", "100"], env)
        by_id = {j["external_id"]: j for j in history["jobs"]}
        assert len(by_id) == 30
        unknown_type = by_id["JR-100001"]
        assert unknown_type["tool"] == "iss:QuantumSim"
        assert unknown_type["raw"]["Type"] == "QuantumSim"
        unknown_status = by_id["JR-100002"]
        assert unknown_status["raw"]["JobRequestStatus"] == "quarantined"
        assert unknown_status["status"] == "queued"

        # A job created since the last sync is picked up by the next one.
        new_id = still_iss.create_job(job_type="NovaIWPS")
        out = workers.run_cli(["iss", "sync", "--json"], env)
        assert json.loads(out.stdout)["created"] == 1
        assert cli_json(["job-history", "--source", "iss", "--tool", "iss:NovaIWPS"], env)["jobs"]
        assert any(j["external_id"] == new_id for j in
                   cli_json(["job-history", "--source", "iss"], env)["jobs"])  # fmt: skip
    finally:
        worker.stop()


def test_beat_sync_task_runs_on_the_worker(
    still_iss: DevServer, redis_url: str, pg_url: str, tmp_path: Path
) -> None:
    from jobprobe.worker.app import create_app
    from jobprobe.worker.settings import load_settings

    env, worker = start_cluster(still_iss, redis_url, pg_url, tmp_path / "data")
    try:
        queues = {f"queue_{q}": env[f"JOBPROBE_QUEUE_{q.upper()}"] for q in workers.QUEUES}
        app = create_app(
            load_settings(broker_url=env["JOBPROBE_BROKER_URL"], database_url=pg_url, **queues)
        )
        result = app.send_task("jobprobe.iss.sync_iss_jobs").get(timeout=60)
        assert result["seen"] == result["created"] == 30
        again = app.send_task("jobprobe.iss.sync_iss_jobs").get(timeout=60)
        assert again["created"] == again["updated"] == again["tracking"] == 0
    finally:
        worker.stop()


def test_platforms_and_byte_identical_downloads(still_iss: DevServer, tmp_path: Path) -> None:
    env = {**workers.jobprobe_env("", "", tmp_path / "data"), **iss_env(still_iss)}
    del env["JOBPROBE_BROKER_URL"], env["JOBPROBE_DATABASE_URL"]
    platforms = cli_json(["iss", "platforms"], env)["platforms"]
    assert [p["PlatformID"] for p in platforms] == ["gnr-ap-2s", "srf-sp-1s", "lnl-m"]
    assert cli_json(["iss", "platform", "lnl-m"], env)["Cores"] == 8
    done = next(j for j in sorted(still_iss.jobs) if still_iss.job_status(j) == "complete")
    dest = tmp_path / "artifacts"
    listing = cli_json(["iss", "files", done, "--download", str(dest)], env)
    assert listing["kind"] == {"IWPS": "iwps", "NovaIWPS": "iwps", "ISIM": "isim"}.get(
        still_iss.jobs[done].type, "coho"
    )
    names = {f["name"] for f in listing["files"]}
    assert names == {"sim.out", "sim.summary.profile", "cpi-stack.png"}
    for name in names:
        assert (dest / name).read_bytes() == still_iss.artifact_bytes(done, name)
    schema = cli_json(["iss", "schema", "ISIM", "GNR-AP"], env)
    assert schema["properties"]["Threads"]["maximum"] == 128

    missing = workers.run_cli(["iss", "track", "JR-NOPE"], env)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        "error: ISS answered 404 to GET /v1/jobs/job/JR-NOPE: Job JR-NOPE not found"
    ]


def test_embedded_track_follows_in_the_foreground(fast_iss: DevServer, tmp_path: Path) -> None:
    env = {**workers.jobprobe_env("", "", tmp_path / "data"), **iss_env(fast_iss)}
    del env["JOBPROBE_BROKER_URL"], env["JOBPROBE_DATABASE_URL"]
    job_id = fast_iss.create_job(job_type="BiosValidation")
    rec = cli_json(["iss", "track", job_id, "--timeout", "60"], env)
    assert rec["tracking"] == "done" and rec["status"] == "success"
    assert rec["raw"]["JobRequestStatus"] == "complete" and rec["tool"] == "iss:BiosValidation"
    assert [e["detail"] for e in rec["status_history"]] == [f"iss: {s}" for s in SUCCESS_PATH]
    assert {a["kind"] for a in rec["artifacts"]} == {"coho"}


def test_unconfigured_iss_is_one_line(tmp_path: Path) -> None:
    env = workers.jobprobe_env("", "", tmp_path / "data")
    del env["JOBPROBE_BROKER_URL"], env["JOBPROBE_DATABASE_URL"]
    for args in (["iss", "jobs"], ["iss", "sync", "--json"], ["iss", "track", "JR-1"]):
        out = workers.run_cli(args, env)
        assert out.returncode == 2, out
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            "error: ISS is not configured: set JOBPROBE_ISS_API_URL (or ISS_API_URL)"
        )


def test_sync_task_skips_when_iss_is_not_configured(tmp_path: Path) -> None:
    from jobprobe.tasks import iss as iss_tasks
    from jobprobe.worker.app import create_app
    from jobprobe.worker.settings import load_settings

    create_app(load_settings(data_dir=tmp_path))
    assert iss_tasks.sync_iss_jobs.apply().get() == {"skipped": "ISS not configured"}
