"""A stored job run again by a second delivery, and its report written once: the recorder and the
analysis on both backends (SQLite and the real PostgreSQL), with a real subprocess."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jobprobe.monitor import recorder
from jobprobe.store import jobs as store_jobs
from jobprobe.store import reading, report_reads
from jobprobe.store.db import Store
from jobprobe.store.spool import Spool
from jobprobe.tasks.reporting import analyze_job_now

TOOLS = '[tools.true]\ndescription = "does nothing"\ncommand = ["true"]\nqueue = "cpu"\n'


def deliver(store: Store, job_id: str, tmp_path: Path) -> dict[str, Any]:
    """One delivery of the job task's work, as ``run_simulation`` does it."""
    tools = tmp_path / "tools.toml"
    tools.write_text(TOOLS)
    return recorder.run_recorded(
        store, Spool(tmp_path / "spool"), job_id, worker="w@host", data_dir=tmp_path / "data",
        tools_file=tools, max_attempts=3, sample_interval=0.5, flush_seconds=2.0, kill_grace=1.0,
        default_timeout=60.0,
    )  # fmt: skip


def test_a_second_delivery_of_an_ended_job_says_whether_it_still_needs_its_report(
    store: Store, tmp_path: Path
) -> None:
    with store.session() as session:
        job_id = store_jobs.create_job(session, tool="true", queue="cpu").id

    first = deliver(store, job_id, tmp_path)
    assert first["ran"] and first["recorded"] and first["status"] == "success"
    assert first["unreported"] is True

    # Delivered again (its worker lost before the ack): it does not run twice, and it still
    # has no report, so the task queues the analysis again.
    again = deliver(store, job_id, tmp_path)
    assert again == {"job_id": job_id, "status": "success", "ran": False, "unreported": True}

    reports = tmp_path / "reports"
    written = analyze_job_now(store, job_id, reports)
    assert written["written"] is True and written["verdict"]
    assert deliver(store, job_id, tmp_path)["unreported"] is False

    # The analysis queued twice writes one report.
    twice = analyze_job_now(store, job_id, reports)
    assert twice["written"] is False and twice["report_id"] == written["report_id"]
    with store.session() as session:
        kinds = [
            r["kind"] for r in report_reads.reports_for_job(reading.from_session(session), job_id)
        ]
        assert kinds == ["job"]
        assert store_jobs.get_job(session, job_id).attempts == 1


def test_a_job_that_never_ran_needs_no_report(store: Store, tmp_path: Path) -> None:
    with store.session() as session:
        job = store_jobs.create_job(session, tool="true", queue="cpu")
        job.cancel_requested = True
        job_id = job.id
    result = deliver(store, job_id, tmp_path)
    assert result["status"] == "cancelled" and not result["ran"]
    assert result["unreported"] is False
