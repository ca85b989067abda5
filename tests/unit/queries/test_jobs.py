"""queries.jobs on both backends (SQLite, the real PostgreSQL): pages and cursors, details,
stats, logs, cancel, tools, and the typed errors a caller maps to an exit code or an HTTP
status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobprobe.queries import errors, jobs
from jobprobe.queries.filters import JobFilters
from jobprobe.store import jobs as store_jobs
from jobprobe.store import samples as store_samples
from jobprobe.store.db import Store
from jobprobe.store.status import JobStatus
from jobprobe.worker.settings import Settings

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def make(store: Store, n: int, **kwargs: object) -> str:
    """Job ``n``, submitted ``n`` minutes after T0."""
    given: dict[str, object] = {
        "tool": "python", "queue": "cpu", "script_name": f"s{n}.py",
        "submitted_at": T0 + timedelta(minutes=n),
    }  # fmt: skip
    given.update(kwargs)
    with store.session() as s:
        return store_jobs.create_job(s, **given).id  # type: ignore[arg-type]


def finish(store: Store, job_id: str, status: JobStatus, **columns: object) -> None:
    with store.session() as s:
        job = store_jobs.get_job(s, job_id)
        store_jobs.set_status(s, job, status, detail="done")
        for key, value in columns.items():
            setattr(job, key, value)


def test_history_pages_follow_the_cursor_to_the_end(store: Store) -> None:
    ids = [make(store, n, labels={"team": "a" if n % 2 else "b"}) for n in range(5)]
    first = jobs.job_history(store, limit=2)
    assert [j["task_id"] for j in first["jobs"]] == ids[::-1][:2]
    second = jobs.job_history(store, limit=2, cursor=first["next_cursor"])
    third = jobs.job_history(store, limit=2, cursor=second["next_cursor"])
    assert [j["task_id"] for j in second["jobs"] + third["jobs"]] == ids[::-1][2:]
    assert third["next_cursor"] is None  # the last page
    team_a = jobs.job_history(store, JobFilters.parse(labels=["team=a"]))
    assert [j["task_id"] for j in team_a["jobs"]] == [ids[3], ids[1]]
    since = jobs.job_history(store, JobFilters(since=T0 + timedelta(minutes=3)))
    assert [j["task_id"] for j in since["jobs"]] == [ids[4], ids[3]]


@pytest.mark.parametrize("cursor", ["garbage", "not-a-time|abc"])
def test_a_bad_cursor_is_a_bad_filter(store: Store, cursor: str) -> None:
    make(store, 0)
    with pytest.raises(errors.BadFilter, match="bad cursor") as caught:
        jobs.job_history(store, cursor=cursor)
    assert caught.value.field == "cursor"


@pytest.mark.parametrize("limit", [0, jobs.MAX_LIMIT + 1])
def test_a_limit_out_of_range_is_a_bad_filter(store: Store, limit: int) -> None:
    with pytest.raises(errors.BadFilter, match="limit must be") as caught:
        jobs.job_history(store, limit=limit)
    assert caught.value.field == "limit"


def test_details_carry_history_reports_and_samples_when_asked(store: Store) -> None:
    job_id = make(store, 0)
    finish(store, job_id, JobStatus.SUCCESS, detailed_profile={"samples_collected": 2})
    store_samples.write_samples(
        store, job_id, 1, [{"t": 1.0e9, "proc_cpu_percent": 50.0}, {"t": 1.0e9 + 0.5}]
    )
    rec = jobs.job_details(store, job_id[:8])
    assert rec["task_id"] == job_id
    assert [e["status"] for e in rec["status_history"]] == ["queued", "success"]
    assert rec["reports"] == []
    assert "timeseries" not in rec["detailed_profile"]
    with_series = jobs.job_details(store, job_id, timeseries=True)
    series = with_series["detailed_profile"]["timeseries"]
    assert series["proc_cpu_percent"] == [50.0, None]  # not measured is None, never 0
    assert jobs.job_timeseries(store, job_id[:6]) == series


def test_progress_and_history_follow_the_job(store: Store) -> None:
    job_id = make(store, 0)
    queued = jobs.job_progress(store, job_id[:8])
    assert queued == {
        "task_id": job_id, "status": "queued", "since": T0.isoformat(), "sample": None,
    }  # fmt: skip
    started = T0 + timedelta(seconds=3)
    finish(store, job_id, JobStatus.RUNNING, started_at=started)
    store_samples.write_samples(store, job_id, 1, [{"t": 1.0e9, "proc_rss_mb": 12.5}])
    running = jobs.job_progress(store, job_id)
    assert (running["status"], running["since"]) == ("running", started.isoformat())
    assert running["sample"]["proc_rss_mb"] == 12.5
    history = jobs.status_history(store, job_id)
    assert [(e["status"], e["detail"]) for e in history] == [("queued", None), ("running", "done")]
    assert history == jobs.job_details(store, job_id)["status_history"]


def test_unknown_short_and_shared_ids_are_typed_errors(store: Store) -> None:
    make(store, 0, job_id="abcdef01" + "0" * 24)
    make(store, 1, job_id="abcdef02" + "0" * 24)
    with pytest.raises(errors.NotFound, match="no job '0123456789'"):
        jobs.job_details(store, "0123456789")
    with pytest.raises(errors.IdTooShort, match="6 or more characters"):
        jobs.job_details(store, "abc")
    with pytest.raises(errors.AmbiguousId, match="several jobs start with 'abcdef'"):
        jobs.job_timeseries(store, "abcdef")
    with pytest.raises(errors.NotFound):
        jobs.cancel_job(store, "fedcba987654")


def test_stats_group_and_reject_an_unknown_grouping(store: Store) -> None:
    for n, status in enumerate([JobStatus.SUCCESS, JobStatus.SUCCESS, JobStatus.FAILED]):
        finish(store, make(store, n, labels={"team": "a"}), status, duration_s=float(n + 1))
    out = jobs.job_stats(store, by="label:team")
    assert out["by"] == "label:team"
    (group,) = out["groups"]
    assert (group["group"], group["jobs"], group["succeeded"], group["failed"]) == ("a", 3, 2, 1)
    assert group["success_rate"] == pytest.approx(2 / 3)
    assert group["duration_p50_s"] == pytest.approx(2.0)
    with pytest.raises(errors.BadFilter, match="cannot group by 'colour'") as caught:
        jobs.job_stats(store, by="colour")
    assert caught.value.field == "by"


def test_logs_read_the_file_or_the_stored_tail(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    log = tmp_path / "out.log"
    log.write_text("line 1\nline 2\n")
    with_file = make(store, 0)
    finish(store, with_file, JobStatus.SUCCESS, stdout_path=str(log), stdout_tail="line 2\n")
    out = jobs.read_log(store, settings, with_file[:8])
    assert out == {
        "task_id": with_file, "stream": "stdout", "path": str(log), "local": True,
        "text": "line 1\nline 2\n", "offset": 0,
    }  # fmt: skip
    assert jobs.read_log(store, settings, with_file, last_bytes=7)["text"] == "line 2\n"
    source = jobs.log_source(store, settings, with_file)
    assert "".join(jobs.follow_log(store, source, follow=True)) == "line 1\nline 2\n"
    assert jobs.read_log_chunk(log, 7) == (b"line 2\n", 14)
    elsewhere = make(store, 1)
    finish(store, elsewhere, JobStatus.FAILED, stderr_path="/elsewhere/err", stderr_tail="boom")
    err = jobs.read_log(store, settings, elsewhere, stream="stderr")
    assert (err["local"], err["text"], err["path"]) == (False, "boom", "/elsewhere/err")
    assert err["offset"] is None
    assert list(jobs.follow_log(store, jobs.log_source(store, settings, elsewhere))) == []


def test_cancel_ends_a_queued_job_and_leaves_an_ended_one(store: Store) -> None:
    queued, done = make(store, 0), make(store, 1)
    finish(store, done, JobStatus.SUCCESS)
    cancelled = jobs.cancel_job(store, queued)
    assert cancelled.as_dict() == {
        "task_id": queued,
        "status": "cancelled",
        "cancel_requested": True,
    }
    assert jobs.job_ended(store, queued)
    ended = jobs.cancel_job(store, done)
    assert ended.ended and ended.as_dict()["cancel_requested"] is False


def test_tools_lists_the_registry_file(tmp_path: Path) -> None:
    registry = tmp_path / "tools.toml"
    registry.write_text(
        '[tools.echo]\ncommand = ["echo", "{script}"]\nqueue = "cpu"\ndescription = "say it"\n'
    )
    listed = jobs.tools(Settings(data_dir=tmp_path / "data", tools_file=registry))
    assert listed == {
        "echo": {"kind": "local", "command": ["echo", "{script}"], "image": None, "queue": "cpu",
                 "timeout": None, "gpus": 0, "description": "say it"},
    }  # fmt: skip


def test_running_now_counts_every_running_job_and_the_gpus_they_asked_for(store: Store) -> None:
    for n in range(30):
        job_id = make(store, n, queue="gpu" if n % 3 else "cpu", gpus=2 if n % 3 else 0,
                      labels={"team": "ml" if n % 2 else "cv"})  # fmt: skip
        if n < 25:  # five stay queued
            finish(store, job_id, JobStatus.RUNNING)
    now = jobs.running_now(store, listed=4)
    gpu_jobs = sum(1 for n in range(25) if n % 3)
    assert now["running_jobs"] == 25 and len(now["jobs"]) == 4
    assert now["gpus_in_use"] == 2 * gpu_jobs
    assert now["by_queue"] == {
        "gpu": {"running_jobs": gpu_jobs, "gpus_in_use": 2 * gpu_jobs},
        "cpu": {"running_jobs": 25 - gpu_jobs, "gpus_in_use": 0},
    }
    ml = jobs.running_now(store, JobFilters.parse(labels=["team=ml"]))
    assert ml["running_jobs"] == sum(1 for n in range(25) if n % 2)


def test_names_seen_are_the_recent_jobs_names_most_used_first(store: Store) -> None:
    now = T0 + timedelta(days=1)
    for n, team in enumerate(["ml", "ml", "cv", "ml"]):
        make(store, n, labels={"team": team, "user": f"u{n}"}, tool="bash" if n else "python")
    make(store, -60 * 24 * 40, labels={"team": "old"})  # 40 days before: not recent
    seen = jobs.names_seen(store, days=30, now=now)
    assert seen["labels"]["team"] == ["ml", "cv"]
    assert sorted(seen["labels"]["user"]) == ["u0", "u1", "u2", "u3"]
    assert seen["tools"] == ["bash", "python"] and seen["queues"] == ["cpu"]
    with pytest.raises(errors.BadFilter, match="days must be more than 0 days"):
        jobs.names_seen(store, days=0)


def test_a_big_log_is_read_in_pieces_and_whole(store: Store, tmp_path: Path) -> None:
    """A log over one read (1 MiB) comes whole through ``follow_log``, a character split
    between two reads included; ``last_bytes`` reads only its end."""
    settings = Settings(data_dir=tmp_path / "data")
    log = tmp_path / "big.log"
    text = "x" * (jobs.CHUNK_BYTES - 1) + "é" + "y" * 1000 + "\nend\n"  # é spans the cut
    log.write_text(text)
    job = make(store, 0)
    finish(store, job, JobStatus.SUCCESS, stdout_path=str(log))
    source = jobs.log_source(store, settings, job)
    pieces = list(jobs.follow_log(store, source))
    assert len(pieces) == 2 and "".join(pieces) == text
    assert "".join(jobs.follow_log(store, source, follow=True, poll_s=0.01)) == text
    assert jobs.read_log(store, settings, job)["text"] == text
    end = jobs.read_log(store, settings, job, last_bytes=5)
    assert end["text"] == "\nend\n"[-5:] and end["offset"] == len(text.encode()) - 5
