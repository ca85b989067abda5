"""The read layer: the records the command line's ``--json`` prints, for every caller (the
CLI, the web API, the chat agent). Each function takes the Store (the job reads take any
``store.reading.Readable``: the Store or the read commands' lean ``ReadStore``) (and Settings where needed)
and plain typed arguments, and returns JSON-able dicts and lists. Errors: ``queries.errors``
(``NotFound`` -> 404 / exit 2; ``BadInput``: ``AmbiguousId``, ``IdTooShort``, ``BadFilter`` ->
422 / exit 2). Modules load lazily: import the one you need (``from jobprobe.queries import
jobs``); nothing here imports click, Celery, FastAPI or ``commands``.

filters:
    JobFilters.parse(status=None, tool=None, labels=None, since=None, queue=None, source=None, *, flag="--") -> JobFilters
    JobFilters.as_kwargs() -> dict[str, Any]
    parse_pairs(pairs: Sequence[str], what: str, *, json_values=False, field=None) -> dict[str, Any]
    parse_since(text: str | None, *, flag="--") -> datetime | None
    ago(seconds: float, *, field: str, unit="seconds", now=None) -> datetime  (BadFilter unless positive, finite, after year 1)
jobs:
    job_history(store, filters: JobFilters | None = None, *, limit=20, cursor: str | None = None) -> {"jobs", "next_cursor"}
    job_details(store, job_id: str, *, timeseries=False) -> record (+ status_history, reports)
    job_timeseries(store, job_id: str) -> dict[str, list]  (columns: t, proc_cpu_percent, ...)
    status_history(store, job_id: str) -> [{"status", "at", "detail"}]  (oldest first)
    job_progress(store, job_id: str) -> {"task_id", "status", "since", "sample"}  (live: newest sample while running)
    job_stats(store, filters: JobFilters | None = None, *, by="tool") -> {"by", "groups"}
    running_now(store, filters=None, *, listed=20) -> {"running_jobs", "gpus_in_use", "by_queue", "jobs"}
    names_seen(store, *, days=30.0, now=None) -> {"days", "labels": {key: [values]}, "queues", "tools"}
    log_source(store, settings, job_id: str, *, stream="stdout") -> LogSource
    read_log(store, settings, job_id: str, *, stream="stdout", last_bytes=None) -> {"task_id", "stream", "path", "local", "text", "offset"}
    read_log_chunk(path: Path, offset: int) -> (bytes, next_offset)  (CHUNK_BYTES at most)
    job_ended(store, job_id: str) -> bool
    follow_log(store, source: LogSource, *, follow=False, poll_s=0.5) -> Iterator[str]
    cancel_job(store, job_id: str) -> CancelOutcome  (.as_dict() -> {"task_id", "status", "cancel_requested"})
    tools(settings) -> {name: {"kind", "command", "image", "queue", "timeout", "gpus", "description"}}
usage:
    finished_records(store, **store_filters) -> list[record]  (finished jobs, oldest first)
    trend(store, filters=None, *, by="tool", bucket="day", metric="cpu_hours", plot: str | Path | None = None) -> {"by", "bucket", "metric", "buckets", "groups", "rows"[, "plot"]}
    compare_periods(store, *, days=7.0, by="tool", tool=None, queue=None, labels: Mapping | None = None, now: datetime | None = None) -> {"by", "days", "now", "groups"}
    drilldown(store, filters=None, *, path: Sequence[str] | str = ("queue", "label:team", "tool"), top=5) -> {"path", "top", "tree"}
comparison:
    thresholds(values: Mapping[str, Any], *, what="--threshold") -> analysis.regression.Thresholds  (names: THRESHOLD_FIELDS)
    compare(store, jobs: Sequence[str], baseline_labels, candidate_labels, *, tool=None, thresholds=None, usage=...) -> facts  (two ids, or two label groups; else BadFilter)
    compare_jobs(store, baseline_ids: Sequence[str], candidate_ids: Sequence[str], *, thresholds=None) -> facts (rows, regressed, regressions, unconfirmed, baseline_ids, candidate_ids, ...)
    label_group(store, labels: Mapping[str, Any], *, tool=None) -> list[job_id]  (finished jobs, oldest first)
    compare_groups(store, baseline_labels: Mapping, candidate_labels: Mapping, *, tool=None, thresholds=None) -> facts
sweeps:
    list_sweeps(store, *, limit=20, status: str | None = None, tool: str | None = None) -> {"sweeps": [sweep record + created_at + jobs{total, ended, succeeded}]}
    sweep_facts(session, sweep: Sweep, *, throughput_metric=None, latency_metric=None) -> facts
    sweep_report(store, sweep_id: str, *, throughput_metric=None, latency_metric=None, plot: str | Path | None = None) -> facts + report_path[, plot]
    reported_facts(store, sweep_id: str) -> (facts, report_path | None)  (the report for the jobs ended so far)
reports (stored reports by id):
    report(store, report_id: int) -> {"id", "kind", "created_at", "path", "summary", "body", "markdown", "job_id", "sweep_id"}
    plot_names(rec: dict) -> list[str]  (the PNG plots a report lists)
    plot_file(store, report_id: int, name: str) -> Path  (NotFound unless this machine has it)
fleet (from the store, no broker; live broker replies stay with the workers command):
    workers_seen(store, *, within_s=3600.0, now: datetime | None = None) -> {"since", "workers": [{"worker", "last_seen", "running", "jobs", "queues"}]}
    queue_lengths(store) -> {"queues": [{"queue", "queued", "running", "oldest_queued_at"}]}
iss (remote reads take an IssClient the caller builds, e.g. tasks.iss.make_client(settings), and closes; ISS errors pass through):
    iss_jobs(client, *, status=None, job_type=None, limit=20) -> {"jobs": [raw ISS job]}
    iss_job(client, job_id: str) -> raw ISS job (SubStates, Metadata, ...)
    iss_platforms(client) -> {"platforms": [raw]};  iss_platform(client, platform_id: str) -> raw
    iss_files(client, job_id: str, kind: str | None = None) -> {"job", "kind", "files": [{"name", "path", "size", "type"}]}
    file_kind(job_type: str) -> str  (iwps, isim, coho)
    tracked_jobs(store, filters=None, *, limit=20, cursor=None) -> job_history of the store's ISS jobs (source iss)
    tracked_job_id(store, external_id: str) -> the store's id of a mirrored ISS job (NotFound: how to track it)
"""

from __future__ import annotations
