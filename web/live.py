"""Server-sent events: a running job's samples and status changes as they are stored, and a
log followed live.

The store is polled every ``POLL_S`` (0.3 s) for what is newer than what was sent (by
sample and status-event id, ``store.live``), so a sample reaches the browser within a second
of being stored, whichever worker stored it. Each sample event carries its sample id as the
event id: a reconnecting ``EventSource`` sends it back as ``Last-Event-ID`` and resumes after
it. A comment line every ``KEEPALIVE_S`` keeps proxies from closing a quiet stream.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from jobprobe.store.status import TERMINAL

if TYPE_CHECKING:
    from jobprobe.store.db import Store

POLL_S = 0.3
KEEPALIVE_S = 15.0
#: Samples sent per poll at most (the backlog of a long job goes out in pieces).
BATCH = 2000
MEDIA_TYPE = "text/event-stream"


def event(name: str, data: Any, event_id: int | str | None = None) -> str:
    """One server-sent event: its name, optional id and JSON data."""
    head = f"event: {name}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return f"{head}data: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


def stream(events: AsyncIterator[str]) -> StreamingResponse:
    """A text/event-stream response that no proxy buffers or caches."""
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type=MEDIA_TYPE, headers=headers)


def resume_after(request: Request, after: int | None) -> int:
    """Where to resume (a sample id, a log's byte offset): ``after`` if given, else
    ``Last-Event-ID``, else 0."""
    if after is not None:
        return max(after, 0)
    raw = request.headers.get("last-event-id", "")
    return int(raw) if raw.isdigit() else 0


async def job_events(
    request: Request, store: Store, job_id: str, *, after: int = 0
) -> AsyncIterator[str]:
    """``status`` events (the job's history, then each change), ``sample`` events (those
    stored after sample ``after``, then each new one), and ``end`` once the job has ended and
    everything stored is sent. ``job_id`` is a full id (resolved by the caller)."""
    from jobprobe.store import live

    def read(last_sample: int, last_event: int) -> tuple[Any, list[Any], list[Any]]:
        with store.session() as session:
            state = live.job_state(session, job_id)
            events = live.events_after(session, job_id, last_event)
            samples = live.samples_after(session, job_id, last_sample, limit=BATCH)
        return state, events, samples

    last_sample, last_event = after, 0
    quiet_since = time.monotonic()
    while True:
        state, events, samples = await run_in_threadpool(read, last_sample, last_event)
        if state is None:  # deleted while followed
            yield event("end", {"task_id": job_id, "status": None, "reason": "the job is gone"})
            return
        for ev in events:
            last_event = ev["id"]
            yield event("status", {"task_id": job_id, **ev})
        for sample in samples:
            last_sample = sample["id"]
            yield event("sample", sample, sample["id"])
        if events or samples:
            quiet_since = time.monotonic()
        if state[0] in TERMINAL and len(samples) < BATCH:
            yield event("end", {"task_id": job_id, "status": state[0]})
            return
        if len(samples) == BATCH:
            continue  # more backlog: no wait
        if time.monotonic() - quiet_since >= KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield ": keepalive\n\n"
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_S)


async def log_events(
    request: Request, read_chunk: Callable[[int], tuple[str, int, bool, bool]], *, offset: int = 0
) -> AsyncIterator[str]:
    """``log`` events with each new piece of a log, then ``end`` when the job has ended.

    ``read_chunk(offset)`` returns ``(text, next_offset, ended, replace)``: the log's text from
    byte ``offset`` on, where the next read starts, whether the job had ended before this read
    (so the text holds everything it wrote), and whether the text replaces what was sent
    (the stored tail of a log this machine cannot read) rather than continuing it."""
    quiet_since = time.monotonic()
    while True:
        text, offset, ended, replace = await run_in_threadpool(read_chunk, offset)
        if text or replace:
            quiet_since = time.monotonic()
            yield event("log", {"text": text, "offset": offset, "replace": replace}, offset)
        if ended:
            yield event("end", {"offset": offset})
            return
        if time.monotonic() - quiet_since >= KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield ": keepalive\n\n"
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_S)
