"""The Python API for putting jobs on the queue and waiting for them."""

from __future__ import annotations

import json
import logging
import re
import signal
import stat
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobprobe.monitor import errors as monitor_errors
from jobprobe.monitor import limits as job_limits
from jobprobe.monitor import tools as tool_registry
from jobprobe.store import job_reads, records
from jobprobe.store import jobs as store_jobs
from jobprobe.store.status import TERMINAL
from jobprobe.tasks import broker, errors, input_limits
from jobprobe.worker import runtime, secrets
from jobprobe.worker.settings import Settings, load_settings

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LABEL_KEY = re.compile(r"^[A-Za-z0-9_.\-/]{1,128}$")


def validate_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Params must be JSON values under identifier names (they become SIM_<NAME> variables),
    within ``input_limits`` (size, nesting, finite numbers)."""
    input_limits.check_params(params)
    out: dict[str, Any] = {}
    for key, value in params.items():
        if not _PARAM_NAME.match(str(key)):
            raise errors.SubmitError(
                f"param name {key!r} must be a letter or _ then letters, digits or _"
            )
        try:
            json.dumps(value)
        except TypeError as exc:
            raise errors.SubmitError(f"param {key!r} is not JSON-serialisable") from exc
        out[str(key)] = value
    return out


def validate_labels(labels: Mapping[str, Any]) -> dict[str, str]:
    """Labels are short string pairs (e.g. user=ana, team=cfd)."""
    out: dict[str, str] = {}
    for key, value in labels.items():
        if not _LABEL_KEY.match(str(key)):
            raise errors.SubmitError(
                f"label name {key!r} must be 1-128 of letters, digits, _ . - /"
            )
        if len(str(value)) > 512:
            raise errors.SubmitError(f"label {key!r} is longer than 512 characters")
        input_limits.check_label(str(key), str(value))
        out[str(key)] = str(value)
    return out


def read_script(script: str | Path, *, max_bytes: int) -> tuple[str, str]:
    """(file name, content) of a script on this machine: a regular file, size-limited, UTF-8."""
    path = Path(script)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise errors.SubmitError(
            f"script {str(path)!r} not found; give the path of a file"
        ) from None
    except OSError as exc:
        raise errors.SubmitError(f"cannot read script {str(path)!r}: {exc.strerror}") from exc
    if not stat.S_ISREG(mode):
        raise errors.SubmitError(
            f"script {str(path)!r} is not a regular file (a folder, device or FIFO); give the "
            "path of a file"
        )
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)  # a file that grew since stat() is still bounded
    except OSError as exc:
        raise errors.SubmitError(f"cannot read script {str(path)!r}: {exc.strerror}") from exc
    if len(data) > max_bytes:
        raise errors.SubmitError(
            f"script {path.name} is over the {max_bytes}-byte limit "
            "(JOBPROBE_MAX_SCRIPT_BYTES); ship data another way"
        )
    try:
        return path.name, data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.SubmitError(f"script {path.name} is not UTF-8 text") from exc


def _check_broker(app: Celery) -> None:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except broker.BROKER_ERRORS as exc:
        raise errors.BrokerUnavailable(
            secrets.mask(
                f"cannot reach the broker {app.conf.broker_url} ({exc}); "
                "start it or fix JOBPROBE_BROKER_URL"
            )
        ) from exc


def _prepare(
    tool: str,
    script: str | Path,
    *,
    params: Mapping[str, Any] | None,
    labels: Mapping[str, Any] | None,
    queue: str | None,
    timeout: float | None,
    gpus: int | None,
    profile: bool,
    sweep_id: str | None,
    settings: Settings,
    mem: str | int | None,
    cpus: float | str | None,
    max_procs: int | str | None,
) -> dict[str, Any]:
    """The checked fields of a new job (``store.jobs.create_job``'s arguments); SubmitError when
    any input is wrong. Imports nothing of Celery."""
    from jobprobe.worker.app import job_queue

    try:
        spec = tool_registry.get_tool(
            tool_registry.load_registry(settings.resolved_tools_file), tool
        )
    except monitor_errors.ToolError as exc:
        raise errors.SubmitError(str(exc)) from exc
    script_name, content = read_script(script, max_bytes=settings.max_script_bytes)
    params = validate_params(params or {})
    labels_ = validate_labels(labels or {})
    if queue is not None and (not queue.strip() or queue != queue.strip()):
        raise errors.SubmitError(
            f"--queue must name a queue, without surrounding spaces (got {queue!r})"
        )
    gpus_ = spec.gpus if gpus is None else gpus
    if gpus_ < 0:
        raise errors.SubmitError(f"--gpus must be 0 or more (got {gpus_})")
    if gpus_ > 0 and settings.embedded:
        _check_local_gpus(gpus_)
    timeout_ = timeout if timeout is not None else (spec.timeout or settings.default_timeout)
    if not 0 < timeout_ <= settings.max_timeout:
        raise errors.SubmitError(
            f"timeout must be more than 0 and at most {settings.max_timeout:g} seconds (got {timeout_:g})"
        )
    missing = spec.placeholders() - set(params) - {"script", "workdir", "job_id", "python"}
    if missing:
        name = sorted(missing)[0]
        raise errors.SubmitError(
            f"tool {tool!r} needs --param {name}=VALUE (its command uses {{{name}}})"
        )
    try:
        limits = job_limits.for_submit(
            mem=mem, cpus=cpus, max_procs=max_procs, tool=spec.limits, local=settings.embedded,
            defaults={"mem": settings.default_mem, "cpus": settings.default_cpus,
                      "max_procs": settings.default_max_procs},
            cgroup_parent=settings.cgroup_parent,
        )  # fmt: skip
    except monitor_errors.LimitError as exc:
        raise errors.SubmitError(str(exc)) from exc
    return dict(
        tool=tool, queue=job_queue(settings, queue=queue, gpus=gpus_, tool_queue=spec.queue),
        script_name=script_name, script_content=content, params=params, labels=labels_,
        gpus=gpus_, timeout_s=timeout_, profile_enabled=profile, sweep_id=sweep_id,
        mem_limit_bytes=limits.mem_bytes, cpu_limit=limits.cpus, max_procs=limits.max_procs,
    )  # fmt: skip


def _check_local_gpus(wanted: int) -> None:
    """Embedded jobs run here: refuse a GPU request this machine cannot meet (it would run on
    the CPU, or not at all, while its record said it had GPUs)."""
    from jobprobe.profiler.gpu_nvidia import visible_gpus

    have, why = visible_gpus()
    if have < wanted:
        where = f"this machine has {have} GPU(s) jobprobe can use" + (f" ({why})" if why else "")
        raise errors.SubmitError(
            f"--gpus {wanted}: {where}, and embedded mode runs the job here; drop --gpus or "
            "submit to GPU workers (set JOBPROBE_BROKER_URL)"
        )


#: Seconds ``submit`` waits for workers to say which queues they take (GPU jobs only).
GPU_WORKER_WAIT_S = 1.0


def gpu_queue_unserved(
    app: Celery, queue: str, *, timeout: float = GPU_WORKER_WAIT_S
) -> str | None:
    """A warning when no live worker takes ``queue`` (a GPU job there would wait for one to
    start); None when one does, or when the workers could not be asked."""
    try:
        replies = app.control.inspect(timeout=timeout).active_queues() or {}
    except Exception as exc:  # only a warning: the submit itself reports a broker that is down
        log.debug("could not ask the workers for their queues: %s", exc)
        return None
    if any(q.get("name") == queue for queues in replies.values() for q in queues or []):
        return None
    return (
        f"no live worker takes the queue {queue!r}: the job waits there until a GPU worker "
        f"starts (celery -A jobprobe.worker.app worker -Q {queue} on a GPU host)"
    )


def _store_job(settings: Settings, fields: Mapping[str, Any]) -> str:
    store = runtime.get_store(settings)
    with store.session() as session:  # committed when the block ends: then the job exists
        return store_jobs.create_job(session, **fields).id


def create(
    tool: str,
    script: str | Path,
    *,
    params: Mapping[str, Any] | None = None,
    labels: Mapping[str, Any] | None = None,
    queue: str | None = None,
    timeout: float | None = None,
    gpus: int | None = None,
    profile: bool = True,
    sweep_id: str | None = None,
    settings: Settings | None = None,
    mem: str | int | None = None,
    cpus: float | str | None = None,
    max_procs: int | str | None = None,
) -> str:
    """Validate a job and store it as ``queued``; returns its id. ``enqueue`` sends it.

    ``mem`` (``4G``), ``cpus`` (``1.5``) and ``max_procs`` limit the job through its control
    group; unset, the tool's and then the settings' defaults apply.

    Nothing is stored when any input is wrong (unknown tool, missing or oversized script,
    bad params, bad timeout) or, in distributed mode, when the broker cannot be reached.
    A job stored and never sent is published by reconciliation once it has waited
    ``JOBPROBE_REQUEUE_AFTER`` seconds; ``submit`` sends it at once. In embedded mode the task
    layer is loaded first (``enqueue`` then runs the job at once).
    """
    from jobprobe.worker.app import create_app

    settings = settings or load_settings()
    fields = _prepare(
        tool, script, params=params, labels=labels, queue=queue, timeout=timeout, gpus=gpus,
        profile=profile, sweep_id=sweep_id, settings=settings, mem=mem, cpus=cpus,
        max_procs=max_procs,
    )  # fmt: skip
    if settings.embedded:
        _load_task_layer(settings)
    else:
        _check_broker(create_app(settings))
    return _store_job(settings, fields)


def _load_task_layer(settings: Settings) -> None:
    """Embedded mode: load the task that runs jobs here before the job is stored, so that
    the job's queue wait is not this process's start-up (a second or more)."""
    from jobprobe.worker.app import RUN_SIMULATION, create_app, task

    task(create_app(settings), RUN_SIMULATION)


def publish(app: Celery, job_id: str, queue: str, *, producer: Any = None) -> None:
    """Send job ``job_id``'s message by the task's name: the task modules (and the analysis
    stack they import) are never loaded in the sending process."""
    from jobprobe.worker.app import RUN_SIMULATION

    app.send_task(
        RUN_SIMULATION, args=[job_id], queue=queue, producer=producer, ignore_result=True,
        retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
    )  # fmt: skip


def enqueue(job_id: str, *, settings: Settings | None = None) -> None:
    """Send a stored job to its queue (embedded mode: run it here, now, to its end).

    When it cannot be sent the job is deleted: a job is never stored without a way to be
    delivered.
    """
    from jobprobe.worker.app import RUN_SIMULATION, create_app, task

    settings = settings or load_settings()
    store = runtime.get_store(settings)
    with store.session() as session:
        queue = store_jobs.get_job(session, job_id).queue
    app = create_app(settings)
    if settings.embedded:  # the job runs here: its failure is its own, and it keeps its outcome
        task(app, RUN_SIMULATION).apply_async(args=[job_id], queue=queue)
        return
    try:
        publish(app, job_id, queue)
    except BaseException as exc:
        _withdraw(settings, job_id, exc)
        raise


def _withdraw(settings: Settings, job_id: str, exc: BaseException) -> None:
    """Delete a job that could not be sent; raise BrokerUnavailable for an unreachable broker."""
    store = runtime.get_store(settings)
    with store.session() as session:
        session.delete(store_jobs.get_job(session, job_id))
    if broker.unreachable(exc):
        raise errors.BrokerUnavailable(f"could not queue the job: {exc}") from exc


class _DeferredInterrupt:
    """While the job is stored and sent, Ctrl-C waits until both are done (a second one does
    not: reconciliation sends a stored job whose client stopped before sending it)."""

    def __init__(self) -> None:
        self.pending = False
        self._previous: Any = None
        self._active = threading.current_thread() is threading.main_thread()

    def __enter__(self) -> _DeferredInterrupt:
        if self._active:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.pending:
            raise KeyboardInterrupt
        self.pending = True

    def __exit__(self, *exc: object) -> None:
        if self._active:
            signal.signal(signal.SIGINT, self._previous)


def submit(
    tool: str,
    script: str | Path,
    *,
    params: Mapping[str, Any] | None = None,
    labels: Mapping[str, Any] | None = None,
    queue: str | None = None,
    timeout: float | None = None,
    gpus: int | None = None,
    profile: bool = True,
    sweep_id: str | None = None,
    settings: Settings | None = None,
    mem: str | int | None = None,
    cpus: float | str | None = None,
    max_procs: int | str | None = None,
    on_created: Callable[[str], object] | None = None,
    on_warning: Callable[[str], object] | None = None,
) -> str:
    """Queue a job and return its id. Embedded mode runs the job to its end before returning.

    ``on_warning(message)`` hears of a job that may wait long: a GPU job no live worker takes.

    Distributed: the job is checked and the broker connection opened first; then the job is
    stored, ``on_created(job_id)`` told, and its message sent on that connection, with Ctrl-C
    held until the message is sent (then it is raised: the job is queued). A job that cannot
    be sent is deleted. A client killed between storing and sending leaves a ``queued`` job
    that reconciliation sends after ``JOBPROBE_REQUEUE_AFTER`` seconds: never an orphan.
    """
    from jobprobe.worker.app import create_app

    settings = settings or load_settings()
    fields = _prepare(
        tool, script, params=params, labels=labels, queue=queue, timeout=timeout, gpus=gpus,
        profile=profile, sweep_id=sweep_id, settings=settings, mem=mem, cpus=cpus,
        max_procs=max_procs,
    )  # fmt: skip
    if settings.embedded:
        _load_task_layer(settings)
        job_id = _store_job(settings, fields)
        if on_created is not None:
            on_created(job_id)
        enqueue(job_id, settings=settings)
        return job_id
    app = create_app(settings)
    runtime.get_store(settings)  # connected (and its schema checked) before the job exists
    if fields["gpus"] > 0 and on_warning is not None:
        warning = gpu_queue_unserved(app, fields["queue"])
        if warning is not None:
            on_warning(warning)
    try:
        with app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=1, timeout=3)
            with _DeferredInterrupt() as interrupt:
                job_id = _store_job(settings, fields)
                try:
                    if on_created is not None:
                        on_created(job_id)
                    publish(app, job_id, fields["queue"], producer=producer)
                except Exception as exc:
                    _withdraw(settings, job_id, exc)
                    raise
    except broker.BROKER_ERRORS as exc:
        raise errors.BrokerUnavailable(
            secrets.mask(
                f"cannot reach the broker {app.conf.broker_url} ({exc}); "
                "start it or fix JOBPROBE_BROKER_URL"
            )
        ) from exc
    if interrupt.pending:
        raise KeyboardInterrupt  # asked for while the job was sent: it is queued
    return job_id


def get_record(
    job_id: str, *, settings: Settings | None = None, timeseries: bool = False
) -> dict[str, Any]:
    """A job's record (Keystone field names), with its status history."""
    settings = settings or load_settings()
    store = runtime.get_store(settings)
    with store.session() as session:
        return records.load_record(session, job_id, events=True, timeseries=timeseries)


def wait(
    job_id: str,
    *,
    timeout: float | None = None,
    poll: float = 0.25,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Block until the job ends (reading the store); returns its record.

    Raises WaitTimeout after ``timeout`` seconds (None waits as long as the job may run).
    """
    settings = settings or load_settings()
    store = runtime.get_store(settings)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with store.reader() as reader:
            job = job_reads.get_job(reader, job_id)
            if job["status"] in TERMINAL:
                return records.to_record(job, events=job_reads.status_history(reader, job["id"]))
        if deadline is not None and time.monotonic() >= deadline:
            raise errors.WaitTimeout(f"job {job_id} still {job['status']} after {timeout:g} s")
        time.sleep(poll)
