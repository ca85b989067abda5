"""Submitting a job over the web, as ``jobprobe submit`` does: a registered tool only, every
input checked by ``tasks.submission`` (the same checks, the same one-line errors).

The script arrives as text; it is written to a private temporary folder under the name given
and handed to ``tasks.submission`` like a file named on the command line (size and UTF-8
checks included), then removed. Distributed: the job is stored and published
(``submission.submit``). Embedded: the job is stored (``submission.create``) and run in a
thread of this server, as the CLI runs it in its own process; stopping the server cancels
those still running and waits for them to record their outcome.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jobprobe.web import errors

if TYPE_CHECKING:
    from jobprobe.store.db import Store
    from jobprobe.worker.settings import Settings

log = logging.getLogger(__name__)
#: Seconds the server waits, when it stops, for its embedded jobs to record their outcome.
STOP_WAIT_S = 30.0


class JobRequest(BaseModel):
    """A job to submit: a registered tool and its script's text, with what ``jobprobe submit``
    takes as options."""

    model_config = ConfigDict(extra="forbid")

    tool: str = Field(min_length=1, max_length=128, description="A registered tool (GET /tools).")
    script: str = Field(description="The script's text (UTF-8).")
    script_name: str = Field(
        "script", min_length=1, max_length=255, description="The script's file name."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Job parameters.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels.")
    queue: str | None = Field(None, description="Queue (default: the tool's, or gpu).")
    timeout: float | None = Field(None, gt=0, description="Seconds before the job is killed.")
    gpus: int | None = Field(None, ge=0, description="GPUs the job needs.")
    mem: str | None = Field(None, description="Memory limit of the job's group (512M, 4G).")
    cpus: str | None = Field(None, description="CPU quota in cores (1.5).")
    max_procs: str | None = Field(None, description="Most tasks the job may have.")
    profile: bool = Field(True, description="Sample the job while it runs.")


#: What a submit's body may hold beyond the script itself (params, labels, the JSON around it).
BODY_OVERHEAD = 256 * 1024


async def read_request(request: Request, *, max_script_bytes: int) -> JobRequest:
    """The request's body as a ``JobRequest``, read up to the script limit plus
    ``BODY_OVERHEAD`` (413 beyond it, before the rest is read); 422 when it does not fit the
    model (FastAPI's validation error, in one line like every other)."""
    limit = max_script_bytes * 2 + BODY_OVERHEAD  # JSON escapes may double a script's size
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise errors.TooLarge(_too_large(limit))
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise errors.TooLarge(_too_large(limit))
    try:
        return JobRequest.model_validate_json(bytes(body))
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from exc


def _too_large(limit: int) -> str:
    return (
        f"the request is over {limit} bytes; a script may have JOBPROBE_MAX_SCRIPT_BYTES, "
        "ship data another way"
    )


#: The longest file name (bytes) the file systems jobprobe runs on take.
NAME_MAX = 255


def _file_name(name: str) -> str:
    """The script's name as a plain file name (no folder, no dots-only name)."""
    if "/" in name or "\\" in name or "\x00" in name or name.strip(".") == "":
        raise errors.BadInput(f"script_name {name!r} must be a plain file name (run.py)")
    if len(os.fsencode(name)) > NAME_MAX:
        raise errors.BadInput(
            f"script_name is {len(os.fsencode(name))} bytes; a file name holds {NAME_MAX} at most"
        )
    return name


class EmbeddedRuns:
    """Embedded jobs this server runs, each in its own thread, at most ``slots`` at once (one
    per CPU by default): the others stay queued, in the store too, until a slot is free."""

    def __init__(self, slots: int | None = None) -> None:
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(slots or os.cpu_count() or 1)

    def start(self, job_id: str, settings: Settings) -> None:
        """Run stored job ``job_id`` to its end in a new thread."""
        thread = threading.Thread(
            target=self._run, args=(job_id, settings), name=f"job-{job_id[:8]}", daemon=True
        )
        with self._lock:
            self._threads[job_id] = thread
        thread.start()

    def _run(self, job_id: str, settings: Settings) -> None:
        from jobprobe.tasks import submission

        try:
            with self._slots:  # a job cancelled meanwhile ends without running
                submission.enqueue(job_id, settings=settings)
        except Exception as exc:  # the job's own outcome is in the store; this is the runner's
            log.error("embedded job %s: %s", job_id, errors.one_line(str(exc)))
        finally:
            with self._lock:
                self._threads.pop(job_id, None)

    def running(self) -> list[str]:
        """Ids of the jobs still running here."""
        with self._lock:
            return list(self._threads)

    def stop(self, store: Store, *, wait_s: float = STOP_WAIT_S) -> None:
        """Cancel the jobs still running here and wait for them to record their outcome."""
        from jobprobe.queries import jobs as job_queries

        with self._lock:
            threads = dict(self._threads)
        for job_id in threads:
            try:
                job_queries.cancel_job(store, job_id)
            except Exception as exc:  # stopping must go on for the others
                log.error("could not cancel embedded job %s: %s", job_id, exc)
        for thread in threads.values():
            thread.join(wait_s)


def submit(body: JobRequest, *, settings: Settings, runs: EmbeddedRuns) -> dict[str, Any]:
    """Store (and send, or start) the job; ``{"task_id", "status": "queued"}``."""
    from jobprobe.store.status import JobStatus
    from jobprobe.tasks import submission

    name = _file_name(body.script_name)
    given: dict[str, Any] = dict(
        params=body.params, labels=body.labels, queue=body.queue, timeout=body.timeout,
        gpus=body.gpus, profile=body.profile, settings=settings, mem=body.mem, cpus=body.cpus,
        max_procs=body.max_procs,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="jobprobe-web-") as folder:
        path = Path(folder) / name
        try:
            path.write_text(body.script, encoding="utf-8")
        except UnicodeEncodeError as exc:
            raise errors.BadInput("script is not valid UTF-8 text") from exc
        if settings.embedded:
            job_id = submission.create(body.tool, path, **given)
            runs.start(job_id, settings)
        else:
            job_id = submission.submit(body.tool, path, **given)
    return {"task_id": job_id, "status": JobStatus.QUEUED.value}
