"""The read layer: the records the command line's ``--json`` prints, for every caller (the
CLI, the web API, the chat agent). Each function takes the Store (and Settings where needed)
and plain typed arguments, and returns JSON-able dicts and lists. Errors: ``queries.errors``
(``NotFound`` -> 404 / exit 2; ``BadInput``: ``AmbiguousId``, ``IdTooShort``, ``BadFilter`` ->
422 / exit 2). Modules load lazily: import the one you need (``from jobprobe.queries import
jobs``); nothing here imports click, Celery, FastAPI or ``commands``.

filters:
    JobFilters.parse(status=None, tool=None, labels=None, since=None, queue=None, source=None, *, flag="--") -> JobFilters
    JobFilters.as_kwargs() -> dict[str, Any]
    parse_pairs(pairs: Sequence[str], what: str, *, json_values=False, field=None) -> dict[str, Any]
    parse_since(text: str | None, *, flag="--") -> datetime | None
jobs:
    job_history(store, filters: JobFilters | None = None, *, limit=20, cursor: str | None = None) -> {"jobs", "next_cursor"}
    job_details(store, job_id: str, *, timeseries=False) -> record (+ status_history, reports)
    job_timeseries(store, job_id: str) -> dict[str, list]  (columns: t, proc_cpu_percent, ...)
    job_stats(store, filters: JobFilters | None = None, *, by="tool") -> {"by", "groups"}
    log_source(store, settings, job_id: str, *, stream="stdout") -> LogSource
    read_log(store, settings, job_id: str, *, stream="stdout") -> {"task_id", "stream", "path", "local", "text"}
    read_log_chunk(path: Path, offset: int) -> (bytes, next_offset)
    job_ended(store, job_id: str) -> bool
    follow_log(store, source: LogSource, *, follow=False, poll_s=0.5) -> Iterator[str]
    cancel_job(store, job_id: str) -> CancelOutcome  (.as_dict() -> {"task_id", "status", "cancel_requested"})
    tools(settings) -> {name: {"kind", "command", "image", "queue", "timeout", "gpus", "description"}}
usage:
    finished_records(store, **store_filters) -> list[record]  (finished jobs, oldest first)
    trend(store, filters=None, *, by="tool", bucket="day", metric="cpu_hours", plot: str | Path | None = None) -> {"by", "bucket", "metric", "buckets", "groups", "rows"[, "plot"]}
    compare_periods(store, *, days=7.0, by="tool", tool=None, queue=None, labels: Mapping | None = None, now: datetime | None = None) -> {"by", "days", "now", "groups"}
    drilldown(store, filters=None, *, path: Sequence[str] | str = ("queue", "label:team", "tool"), top=5) -> {"path", "top", "tree"}
"""

from __future__ import annotations
