"""Jobs as the command line's ``--json`` prints them: the filtered history (with its cursor),
one job's details (status history, reports, optionally its samples), per-group stats, its
logs (read once, or followed while it runs), a cancel request, and the tool registry.

Imports stay light (the store and the standard library, loaded in each function): the read
commands that call these start fast, without Celery, numpy or Alembic.
"""

from __future__ import annotations

import codecs
import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from jobprobe.queries import errors
from jobprobe.queries.filters import JobFilters, ago
from jobprobe.store.status import TERMINAL, JobStatus

if TYPE_CHECKING:
    from jobprobe.store.db import Store
    from jobprobe.store.reading import Readable
    from jobprobe.worker.locations import Locations
    from jobprobe.worker.settings import Settings

#: The most jobs one page of the history holds.
MAX_LIMIT = 10_000
Stream = Literal["stdout", "stderr"]


def job_history(
    store: Readable,
    filters: JobFilters | None = None,
    *,
    limit: int = 20,
    cursor: str | None = None,
) -> dict[str, Any]:
    """``{"jobs": [record, ...], "next_cursor": str | None}``: jobs newest first, after
    ``cursor`` (the ``next_cursor`` of the page before); ``next_cursor`` is None on the last
    page. A bad limit or cursor is a ``BadFilter``."""
    from jobprobe.store import errors as store_errors
    from jobprobe.store import job_reads, records

    if not 1 <= limit <= MAX_LIMIT:
        raise errors.BadFilter(f"limit must be 1 to {MAX_LIMIT} (got {limit})", field="limit")
    if cursor:
        try:
            job_reads.decode_cursor(cursor)
        except store_errors.StoreError as exc:
            raise errors.BadFilter(str(exc), field="cursor") from exc
    kwargs = (filters or JobFilters()).as_kwargs()
    with store.reader() as reader:
        rows = job_reads.job_history(reader, limit=limit, cursor=cursor, **kwargs)
    next_cursor = job_reads.encode_cursor(rows[-1]) if len(rows) == limit else None
    return {"jobs": [records.to_record(r) for r in rows], "next_cursor": next_cursor}


def running_now(
    store: Readable, filters: JobFilters | None = None, *, listed: int = 20
) -> dict[str, Any]:
    """``{"running_jobs", "gpus_in_use", "by_queue": {queue: {"running_jobs", "gpus_in_use"}},
    "jobs": [the newest ``listed`` running jobs' records]}``: what runs now (counted in the
    store, however many) and the GPUs those jobs asked for."""
    from jobprobe.store import job_reads

    running = dataclasses.replace(filters or JobFilters(), status=JobStatus.RUNNING.value)
    with store.reader() as reader:
        by_queue = job_reads.running_by_queue(reader, **running.as_kwargs())
    newest = job_history(store, running, limit=listed)["jobs"]
    return {
        "running_jobs": sum(q["running_jobs"] for q in by_queue.values()),
        "gpus_in_use": sum(q["gpus_in_use"] for q in by_queue.values()),
        "by_queue": by_queue,
        "jobs": newest,
    }


def names_seen(store: Store, *, days: float = 30.0, now: datetime | None = None) -> dict[str, Any]:
    """The label keys and values, queues and tools of jobs submitted in the last ``days``,
    most used first: what a question may name (``store.jobs.names_seen``)."""
    from jobprobe.store import jobs as store_jobs

    since = ago(days * 86400.0, field="days", unit="days", now=now)
    with store.session() as session:
        return {"days": days, **store_jobs.names_seen(session, since=since)}


def job_details(store: Readable, job_id: str, *, timeseries: bool = False) -> dict[str, Any]:
    """The job's record (id or unique prefix of 6+) with ``status_history`` and ``reports``,
    and its samples as columns under ``detailed_profile.timeseries`` when ``timeseries`` (and
    it has a profile). ``NotFound``/``AmbiguousId`` for an unknown or shared id."""
    from jobprobe.store import job_reads, records, report_reads, sample_reads

    with errors.looked_up(job_id), store.reader() as reader:
        row = job_reads.get_job(reader, job_id)
        samples = sample_reads.load_timeseries(reader, row["id"]) if timeseries else None
        return records.to_record(
            row, events=job_reads.status_history(reader, row["id"]), timeseries=samples,
            reports=report_reads.reports_for_job(reader, row["id"]),
        )  # fmt: skip


def job_timeseries(store: Readable, job_id: str) -> dict[str, list[Any]]:
    """The job's stored samples as columns (``t`` and one list per metric; None where a
    metric was not measured), also while it runs and when it has no profile yet."""
    from jobprobe.store import job_reads, sample_reads

    with errors.looked_up(job_id), store.reader() as reader:
        return sample_reads.load_timeseries(reader, job_reads.get_job(reader, job_id)["id"])


def status_history(store: Readable, job_id: str) -> list[dict[str, Any]]:
    """The job's status events, oldest first: ``[{"status", "at", "detail"}]`` (as in
    ``job_details``' ``status_history``)."""
    from jobprobe.store import job_reads, records

    with errors.looked_up(job_id), store.reader() as reader:
        row = job_reads.get_job(reader, job_id)
        rec = records.to_record(row, events=job_reads.status_history(reader, row["id"]))
    history: list[dict[str, Any]] = rec["status_history"]
    return history


def job_progress(store: Store, job_id: str) -> dict[str, Any]:
    """``{"task_id", "status", "since", "sample"}``: where the job is now, since when (ISO;
    its start while it runs, its submission before) and, while it runs, its newest sample."""
    from jobprobe.store import jobs as store_jobs
    from jobprobe.store import samples as store_samples

    with errors.looked_up(job_id), store.session() as session:
        job = store_jobs.get_job(session, job_id)
        running = job.status == JobStatus.RUNNING
        since = job.started_at if running else job.submitted_at
        return {
            "task_id": job.id, "status": job.status,
            "since": None if since is None else since.isoformat(),
            "sample": store_samples.latest_sample(session, job.id) if running else None,
        }  # fmt: skip


def job_stats(
    store: Readable, filters: JobFilters | None = None, *, by: str = "tool"
) -> dict[str, Any]:
    """``{"by": by, "groups": [...]}``: per group (tool, queue, worker, status, source or
    label:KEY) counts, success rate, duration percentiles, CPU-seconds, peak memory and mean
    queue wait. An unknown ``by`` is a ``BadFilter``."""
    from jobprobe.store import errors as store_errors
    from jobprobe.store import job_reads

    with store.reader() as reader:
        try:
            job_reads.group_expression(by, reader.dialect)
        except store_errors.StoreError as exc:
            raise errors.BadFilter(str(exc), field="by") from exc
        rows = job_reads.job_stats(reader, by=by, **(filters or JobFilters()).as_kwargs())
    return {"by": by, "groups": rows}


@dataclass(frozen=True)
class LogSource:
    """Where one of a job's logs is: its file (``path``, on the worker that ran it) and the
    last 4 KB the store keeps (``tail``)."""

    task_id: str
    stream: Stream
    path: str | None
    tail: str | None
    status: str
    worker: str | None

    @property
    def local_path(self) -> Path | None:
        """The log file when this machine can read it (the job's own file, not a link)."""
        from jobprobe.monitor import workdirs

        local = Path(self.path) if self.path else None
        return local if local is not None and workdirs.is_log_file(local) else None


def log_source(
    store: Readable, settings: Settings | Locations, job_id: str, *, stream: Stream = "stdout"
) -> LogSource:
    """Where the job's ``stream`` log is; a job running on this machine without a stored path
    yet points at its newest attempt directory's log."""
    from jobprobe.store import job_reads

    with errors.looked_up(job_id), store.reader() as reader:
        job = job_reads.get_job(reader, job_id)
    path, tail = job[f"{stream}_path"], job[f"{stream}_tail"]
    workdir, status, worker, full_id = job["workdir"], job["status"], job["worker"], job["id"]
    if path is None and workdir is None and status == JobStatus.RUNNING:
        path = _running_log(settings.data_dir, full_id, stream)
    return LogSource(full_id, stream, path, tail, status, worker)


def _running_log(data_dir: Path, job_id: str, stream: Stream) -> str | None:
    """The log of a job running on this machine, in its newest attempt directory."""
    from jobprobe.monitor import workdirs

    attempt = workdirs.latest_attempt_dir(data_dir, job_id)
    return str(workdirs.log_path(attempt, stream)) if attempt is not None else None


def read_log(
    store: Readable,
    settings: Settings | Locations,
    job_id: str,
    *,
    stream: Stream = "stdout",
    last_bytes: int | None = None,
) -> dict[str, Any]:
    """``{"task_id", "stream", "path", "local", "text", "offset"}``: the log where this machine
    can read its file (``local`` true; whole, or its ``last_bytes`` from ``offset`` on), else
    the last 4 KB the store keeps (``offset`` None)."""
    source = log_source(store, settings, job_id, stream=stream)
    local = source.local_path
    text, start = source.tail or "", None
    if local is not None:
        from jobprobe.monitor import workdirs

        chunk, start = workdirs.read_log_from(local, last=last_bytes) or (b"", 0)
        text = chunk.decode("utf-8", "replace")
    return {
        "task_id": source.task_id, "stream": stream, "path": source.path,
        "local": local is not None, "text": text, "offset": start,
    }  # fmt: skip


#: The most of a log one read takes (a followed log of a chatty job goes out in pieces).
CHUNK_BYTES = 1 << 20


def read_log_chunk(path: Path, offset: int) -> tuple[bytes, int]:
    """The bytes of log ``path`` from ``offset`` on (``CHUNK_BYTES`` at most), and the offset
    after them (poll with it). Nothing when the file is no longer the job's own (a running job
    swapped in a link)."""
    from jobprobe.monitor import workdirs

    chunk = (workdirs.read_log_from(path, offset, limit=CHUNK_BYTES) or (b"", offset))[0]
    return chunk, offset + len(chunk)


def job_ended(store: Readable, job_id: str) -> bool:
    """Whether the job is in a terminal status."""
    from jobprobe.store import job_reads

    with errors.looked_up(job_id), store.reader() as reader:
        return job_reads.get_job(reader, job_id)["status"] in TERMINAL


def follow_log(
    store: Readable, source: LogSource, *, follow: bool = False, poll_s: float = 0.5
) -> Iterator[str]:
    """The log file's text in chunks as it grows: once (``follow`` false), or until the job
    ends, re-reading every ``poll_s`` seconds and once more after the end. Nothing when this
    machine cannot read the file (use ``source.tail``)."""
    path = source.local_path
    if path is None:
        return
    offset = 0
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while True:
        chunk, offset = read_log_chunk(path, offset)
        if len(chunk) == CHUNK_BYTES:  # there is more: read on at once
            yield decoder.decode(chunk)
            continue
        text = decoder.decode(chunk, final=not follow)
        if text:
            yield text
        if not follow:
            return
        if job_ended(store, source.task_id):
            follow = False  # one more read picks up the last bytes
            continue
        time.sleep(poll_s)


@dataclass(frozen=True)
class CancelOutcome:
    """What a cancel request did: the job's status after it, and until when a running job's
    worker holds it (a gone worker's job is cancelled when that lease expires)."""

    task_id: str
    status: str
    lease_expires_at: datetime | None

    @property
    def ended(self) -> bool:
        """Whether the job is over (cancelled now, or it had ended before)."""
        return self.status in TERMINAL

    @property
    def cancel_requested(self) -> bool:
        """Whether the request stands: the job was cancelled or is still to stop."""
        return not self.ended or self.status == JobStatus.CANCELLED

    def as_dict(self) -> dict[str, Any]:
        """``{"task_id", "status", "cancel_requested"}`` (``cancel --json``)."""
        return {
            "task_id": self.task_id, "status": self.status,
            "cancel_requested": self.cancel_requested,
        }  # fmt: skip


def cancel_job(store: Store, job_id: str) -> CancelOutcome:
    """Ask for the job to be cancelled (``store.jobs.request_cancel``: a queued job ends now,
    a running one at its worker's next check)."""
    from jobprobe.store import jobs as store_jobs

    with errors.looked_up(job_id), store.session() as session:
        job = store_jobs.request_cancel(session, job_id)
        return CancelOutcome(job.id, job.status, job.lease_expires_at)


def tools(settings: Settings | Locations) -> dict[str, dict[str, Any]]:
    """The registered tools (JOBPROBE_TOOLS_FILE, DATA_DIR/tools.toml or the bundled ones):
    name to kind, command, image, queue, timeout, gpus and description."""
    from jobprobe.monitor.tools import load_registry

    registry = load_registry(settings.resolved_tools_file)
    return {
        name: {
            "kind": t.kind,
            "command": list(t.command),
            "image": t.image,
            "queue": t.queue,
            "timeout": t.timeout,
            "gpus": t.gpus,
            "description": t.description,
        }
        for name, t in registry.items()
    }
