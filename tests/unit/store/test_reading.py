"""The read commands' lean store (``ReadStore``: a direct DB-API connection, no SQLAlchemy) reads
exactly what the full Store reads, on SQLite and PostgreSQL, and fails in one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobprobe.queries import errors as query_errors
from jobprobe.queries import jobs as query_jobs
from jobprobe.queries import usage as query_usage
from jobprobe.queries.filters import JobFilters
from jobprobe.store import attempts, errors, job_reads, schema_stamp
from jobprobe.store import jobs as store_jobs
from jobprobe.store import samples as store_samples
from jobprobe.store.db import Store
from jobprobe.store.models import Job
from jobprobe.store.reading import ReadStore
from tests import services


def lean(store: Store, tmp_path: Path) -> ReadStore:
    """The store as a read command opens it once its schema stamp is current."""
    stamp = schema_stamp.stamp_path(tmp_path / "schema", store.url)
    schema_stamp.write(stamp, schema_stamp.head_revision())
    return ReadStore(store.url, stamp=stamp)


def fill(store: Store) -> list[str]:
    """Five jobs: labels with characters SQL treats specially, finished and not, samples,
    a JSON profile, naive and aware times."""
    base = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    ids = []
    for i in range(5):
        with store.session() as s:
            job = store_jobs.create_job(
                s, tool="bash" if i % 2 else "python", queue="cpu",
                labels={"team": "a%b" if i < 3 else "c:d", "run": str(i)},
                params={"n": i}, submitted_at=base + timedelta(minutes=i),
            )  # fmt: skip
            ids.append(job.id)
        if i < 4:
            with store.transaction() as c:
                attempts.begin_attempt(c, job.id, worker="w1@h", max_attempts=2)
                attempts.finish_job(c, job.id, {
                    "status": "success" if i != 2 else "failed", "returncode": 0,
                    "duration_s": 1.0 + i, "cpu_total_s": 0.5 * i, "memory_peak_mb": 10.0 * i,
                    "detailed_profile": {"samples_collected": 2, "bottleneck": {"kind": "cpu"}},
                })  # fmt: skip
            store_samples.write_samples(store, job.id, 1, [
                {"t": base.timestamp() + 60 * i + k, "proc_cpu_percent": 50.0 + k,
                 "cg_mem_current_mb": 3.5, "top": [1, 2]} for k in range(3)
            ])  # fmt: skip
    return ids


def test_record_columns_are_the_job_models(store: Store) -> None:
    model = {c.key for c in Job.__table__.columns} - {"script_content", "script_sha256"}
    skipped = {"profile_enabled", "cancel_requested", "updated_at", "published_at"}
    assert set(job_reads.RECORD_COLUMNS) == model - skipped
    for name in job_reads.TIME_COLUMNS + job_reads.JSON_COLUMNS:
        assert name in job_reads.RECORD_COLUMNS


def test_the_lean_store_reads_what_the_full_store_reads(store: Store, tmp_path: Path) -> None:
    ids = fill(store)
    read = lean(store, tmp_path)
    for job_id in ids:
        full = query_jobs.job_details(store, job_id, timeseries=True)
        assert query_jobs.job_details(read, job_id[:8], timeseries=True) == full
        assert full["status_history"][0]["status"] == "queued"
    details = query_jobs.job_details(read, ids[1], timeseries=True)
    assert details["submitted_at"] == "2026-03-01T12:01:00+00:00"
    assert details["detailed_profile"]["timeseries"]["cg_mem_current_mb"] == [3.5] * 3
    assert "top" not in details["detailed_profile"]["timeseries"]
    for filters in (JobFilters(), JobFilters.parse(labels=("team=a%b",)),
                    JobFilters.parse(labels=("team=c:d",)), JobFilters.parse(tool="bash"),
                    JobFilters.parse(status="failed")):  # fmt: skip
        assert query_jobs.job_history(read, filters, limit=50) == query_jobs.job_history(
            store, filters, limit=50
        )
        for by in ("tool", "status", "label:team"):
            assert query_jobs.job_stats(read, filters, by=by) == query_jobs.job_stats(
                store, filters, by=by
            )
    assert [r["task_id"] for r in query_jobs.job_history(read, JobFilters.parse(
        labels=("team=a%b",)), limit=50)["jobs"]] == ids[2::-1]  # fmt: skip
    assert query_usage.finished_records(read) == query_usage.finished_records(store)
    assert len(query_usage.finished_records(read)) == 4


def test_cursor_pages_the_whole_history(store: Store, tmp_path: Path) -> None:
    ids = fill(store)
    read, seen, cursor = lean(store, tmp_path), [], None
    while True:
        page = query_jobs.job_history(read, limit=2, cursor=cursor)
        seen += [r["task_id"] for r in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]


def test_an_id_prefix_is_a_prefix_not_a_pattern(store: Store, tmp_path: Path) -> None:
    with store.session() as s:
        store_jobs.create_job(s, tool="t", queue="cpu", job_id="abcdef" + "0" * 26)
    read = lean(store, tmp_path)
    assert query_jobs.job_details(read, "abcdef")["task_id"] == "abcdef" + "0" * 26
    for pattern in ("abc%ef", "abcde_", "%%%%%%"):
        with pytest.raises(query_errors.NotFound, match="no job"):
            query_jobs.job_details(read, pattern)
    with pytest.raises(query_errors.IdTooShort, match="too short"):
        query_jobs.job_details(read, "abc")


def test_a_database_without_tables_drops_its_stamp(tmp_path: Path) -> None:
    url, name = services.create_pg_database()
    try:
        stamp = tmp_path / "schema" / "s"
        schema_stamp.write(stamp, schema_stamp.head_revision())
        with pytest.raises(errors.StoreError, match="has no jobprobe tables"):
            query_jobs.job_history(ReadStore(url, stamp=stamp))
        assert not stamp.exists()
    finally:
        services.drop_pg_database(name)


def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://u:s3cret@127.0.0.1:1/x"
    with pytest.raises(errors.StoreUnavailable) as caught:
        query_jobs.job_history(ReadStore(url))
    line = str(caught.value)
    assert "\n" not in line and "s3cret" not in line and "127.0.0.1:1" in line
    assert line.startswith("cannot reach the database postgresql+psycopg://u:***@127.0.0.1:1/x")
    with pytest.raises(errors.StoreUnavailable, match="no such file"):
        query_jobs.job_history(ReadStore(f"sqlite:///{tmp_path / 'none.db'}"))
    assert not (tmp_path / "none.db").exists()  # a read never makes a store


def test_one_connection_is_kept_and_a_killed_one_replaced(tmp_path: Path) -> None:
    import psycopg

    url, name = services.create_pg_database()
    store = Store(url)
    try:
        fill(store)
        read = lean(store, tmp_path)
        with read.reader() as r:
            pid = r.scalar("SELECT pg_backend_pid()")
        with read.reader() as r:
            assert r.scalar("SELECT pg_backend_pid()") == pid  # kept for the next read
        admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(errors.StoreUnavailable) as caught:
            query_jobs.job_history(read)
        assert "\n" not in str(caught.value)
        assert len(query_jobs.job_history(read, limit=50)["jobs"]) == 5  # connected anew
        with read.reader() as r:
            assert r.scalar("SELECT pg_backend_pid()") != pid
        read.close()
    finally:
        store.dispose()
        services.drop_pg_database(name)
