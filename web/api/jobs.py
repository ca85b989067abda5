"""Jobs: the history (filters, cursor), stats, one job's details, samples, logs and live
events, submit and cancel. Each route calls ``queries.jobs`` (what ``--json`` prints) and
computes nothing of its own."""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from jobprobe.web import auth, live, submit
from jobprobe.web.api.filters import FiltersDep
from jobprobe.web.deps import SettingsDep, StoreDep
from jobprobe.web.responses import FastJSONResponse

if TYPE_CHECKING:
    from jobprobe.queries.jobs import LogSource
    from jobprobe.store.db import Store
    from jobprobe.worker.settings import Settings

router = APIRouter(tags=["jobs"])


@router.get("/jobs")
def job_history(
    store: StoreDep,
    filters: FiltersDep,
    limit: Annotated[int, Query(description="Jobs per page (1 to 10000).")] = 20,
    cursor: Annotated[str | None, Query(description="next_cursor of the page before.")] = None,
) -> dict[str, Any]:
    """Jobs newest first: ``{"jobs": [record, ...], "next_cursor"}`` (``job-history --json``)."""
    from jobprobe.queries import jobs

    return jobs.job_history(store, filters.value, limit=limit, cursor=cursor)


@router.get("/jobs/stats")
def job_stats(
    store: StoreDep,
    filters: FiltersDep,
    by: Annotated[
        str, Query(description="tool, queue, worker, status, source or label:KEY")
    ] = "tool",
) -> dict[str, Any]:
    """Counts, success rate, duration percentiles, CPU-seconds, peak memory per group."""
    from jobprobe.queries import jobs

    return jobs.job_stats(store, filters.value, by=by)


@router.post(
    "/jobs", status_code=202, dependencies=[Depends(auth.require_write)],
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": submit.JobRequest.model_json_schema()}}}},
)  # fmt: skip
async def submit_job(request: Request, settings: SettingsDep) -> dict[str, Any]:
    """Submit a job of a registered tool (write token), as ``jobprobe submit`` does: the
    script's text in ``script``; ``{"task_id", "status": "queued"}``. Embedded mode runs it
    in this server."""
    body = await submit.read_request(request, max_script_bytes=settings.max_script_bytes)
    runs = request.app.state.embedded_runs
    result: dict[str, Any] = await run_in_threadpool(
        submit.submit, body, settings=settings, runs=runs
    )
    return result


@router.get("/jobs/{job_id}", response_class=FastJSONResponse)
def job_details(
    store: StoreDep,
    job_id: str,
    timeseries: Annotated[bool, Query(description="Include every stored sample.")] = False,
) -> FastJSONResponse:
    """One job's record, status history and reports (id or a prefix of 6+ characters)."""
    from jobprobe.queries import jobs

    return FastJSONResponse(jobs.job_details(store, job_id, timeseries=timeseries))


@router.get(
    "/jobs/{job_id}/timeseries",
    response_class=FastJSONResponse,
    responses={200: {"content": {"application/json": {"schema": {
        "type": "object", "additionalProperties": {"type": "array", "items": {}}}}}}},
)  # fmt: skip
def job_timeseries(store: StoreDep, job_id: str) -> FastJSONResponse:
    """The job's stored samples as columns (``t`` in unix seconds; null: not measured)."""
    from jobprobe.queries import jobs

    return FastJSONResponse(jobs.job_timeseries(store, job_id))


@router.get("/jobs/{job_id}/events", response_class=StreamingResponse)
def job_events(
    request: Request,
    store: StoreDep,
    job_id: str,
    after: Annotated[
        int | None, Query(description="Send samples stored after this sample id only.")
    ] = None,
) -> StreamingResponse:
    """Server-sent events: ``status`` (history, then each change), ``sample`` (each stored
    sample, within a second), ``end`` when the job has ended."""
    from jobprobe.queries import jobs

    full_id = jobs.job_details(store, job_id)["task_id"]  # 404 before the stream starts
    return live.stream(
        live.job_events(request, store, full_id, after=live.resume_after(request, after))
    )


#: The most of a log one answer holds by default (its end; ``offset`` says where it starts).
LOG_LAST_BYTES = 1 << 20


@router.get("/jobs/{job_id}/logs", response_model=None)
def job_logs(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    job_id: str,
    stream: Literal["stdout", "stderr"] = "stdout",
    follow: Annotated[bool, Query(description="Stream it (text/event-stream).")] = False,
    offset: Annotated[
        int | None,
        Query(ge=0, description="Follow from this byte of the log (a reconnect's last offset)."),
    ] = None,
    last_bytes: Annotated[
        int,
        Query(ge=1, description="Without follow: at most this many bytes, the log's last."),
    ] = LOG_LAST_BYTES,
) -> dict[str, Any] | StreamingResponse:
    """The job's log (``logs --json``): the file where this machine can read it (its last
    ``last_bytes``, from ``offset`` on), else the last 4 KB stored. ``follow=true``: server-sent ``log`` events as it grows (each with the byte
    offset it reaches as its id: a reconnect resumes there, from ``offset`` or
    ``Last-Event-ID``), ``end`` at the end."""
    from jobprobe.queries import jobs

    if not follow:
        return jobs.read_log(store, settings, job_id, stream=stream, last_bytes=last_bytes)
    source = jobs.log_source(store, settings, job_id, stream=stream)
    reader = _LogReader(store, settings, source)
    start = live.resume_after(request, offset)
    return live.stream(live.log_events(request, reader.read, offset=start))


class _LogReader:
    """Reads a followed log from where the last read stopped; its file may appear only once
    the job starts. Where this machine cannot read the file, the stored tail (its last 4 KB)
    is sent whole, once at the start and once at the end (``replace``)."""

    def __init__(self, store: Store, settings: Settings, source: LogSource) -> None:
        self.store, self.settings, self.source = store, settings, source
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.sent_tail = False

    def read(self, offset: int) -> tuple[str, int, bool, bool]:
        from jobprobe.queries import errors, jobs

        try:
            ended = jobs.job_ended(self.store, self.source.task_id)  # before reading: nothing lost
        except errors.NotFound:  # deleted while followed (a sweep that could not be sent)
            return "", offset, True, False
        path = self.source.local_path
        if path is None and not ended:
            self.source = jobs.log_source(
                self.store, self.settings, self.source.task_id, stream=self.source.stream
            )
            path = self.source.local_path
        if path is None:
            if ended:
                self.source = jobs.log_source(
                    self.store, self.settings, self.source.task_id, stream=self.source.stream
                )
            if ended or not self.sent_tail:
                self.sent_tail = True
                return self.source.tail or "", offset, ended, True
            return "", offset, ended, False
        chunk, offset = jobs.read_log_chunk(path, offset)
        ended = ended and len(chunk) < jobs.CHUNK_BYTES  # else more is left to send
        return self.decoder.decode(chunk, final=ended), offset, ended, False


@router.post("/jobs/{job_id}/cancel", dependencies=[Depends(auth.require_write)])
def cancel_job(store: StoreDep, job_id: str) -> dict[str, Any]:
    """Ask for the job to be cancelled (write token): ``{"task_id", "status",
    "cancel_requested"}``; a queued job is cancelled at once, a running one within a second."""
    from jobprobe.queries import jobs

    return jobs.cancel_job(store, job_id).as_dict()
