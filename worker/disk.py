"""A worker's data directory: full or unwritable pauses the worker, space again resumes it;
old job directories and oversized logs are cleaned up.

A worker whose data directory has less than ``JOBPROBE_MIN_FREE_MB`` free (or cannot be
written) stops taking jobs: its queue consumers are cancelled, which leaves the messages to
other workers. A thread of the worker's main process checks every
``JOBPROBE_DISK_CHECK_SECONDS`` and adds the consumers back once there is space again; a pool
process that is handed a job while the directory is full asks its main process to pause at once
(a control message), so the worker does not fail job after job in the meantime. ``jobprobe
workers`` shows the reason (the ``jobprobe_state`` inspect command).

The same thread does the housekeeping: job directories untouched for
``JOBPROBE_JOB_DIR_RETENTION_HOURS`` are removed, and a finished job's log larger than
``JOBPROBE_LOG_MAX_MB`` keeps its head and tail (``monitor.workdirs.trim_log``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from celery import signals
from celery.worker.control import control_command, inspect_command

from jobprobe.monitor import workdirs
from jobprobe.worker.settings import Settings

log = logging.getLogger(__name__)

PAUSE, STATE = "jobprobe_pause", "jobprobe_state"
#: A log is trimmed only once it has not been written to for this long (its job has ended).
_LOG_IDLE_S = 60.0


def free_mb(path: Path) -> float:
    """Megabytes free to an unprivileged writer on the file system holding ``path``."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize / 2**20


def problem(data_dir: Path, min_free_mb: float, *, probe: bool = True) -> str | None:
    """Why jobs cannot run in ``data_dir`` now (full, or not writable), or None.

    Besides the free space, a small file is written and synced (``probe``): that also catches a
    file system out of inodes, read-only, or refusing this user.
    """
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        free = free_mb(data_dir)
        if probe:
            _write_probe(data_dir)
    except OSError as exc:
        return workdirs.failure_reason(exc, data_dir) if exc.errno else str(exc)
    if free < min_free_mb:
        return workdirs.full_reason(data_dir)
    return None


def _write_probe(data_dir: Path) -> None:
    probe = data_dir / f".jobprobe-probe-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, b"\0" * 4096)
            os.fsync(fd)
        finally:
            os.close(fd)
    finally:
        with contextlib.suppress(FileNotFoundError):
            probe.unlink()


class DiskGuard:
    """The main process's pause state and its checking thread (one per worker)."""

    def __init__(self, consumer: Any, settings: Settings) -> None:
        self.consumer = consumer
        self.settings = settings
        self.pid = os.getpid()  # a pool process forked later inherits this object: not its own
        self.paused: str | None = None
        self._queues: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jobprobe-disk", daemon=True)
        self._last_housekeeping = 0.0

    def start(self) -> None:
        """Check now, then every ``disk_check_seconds``."""
        self.check()
        self._thread.start()

    def stop(self) -> None:
        """Stop checking."""
        self._stop.set()

    def pause(self, reason: str) -> None:
        """Stop consuming every task queue (idempotent; the first reason is kept)."""
        with self._lock:
            if self.paused is not None:
                return
            consumer = self.consumer.task_consumer
            self._queues = sorted(q.name for q in (consumer.queues if consumer else []))
            self.paused = reason
        log.warning("worker paused, takes no jobs: %s", reason)
        for queue in self._queues:
            self.consumer.call_soon(self.consumer.cancel_task_queue, queue)

    def resume(self) -> None:
        """Consume the queues again that a pause stopped."""
        with self._lock:
            if self.paused is None:
                return
            queues, self._queues, self.paused = self._queues, [], None
        log.warning("worker resumed: data directory %s has space again", self.settings.data_dir)
        for queue in queues:
            self.consumer.call_soon(self.consumer.add_task_queue, queue)

    def check(self) -> str | None:
        """Pause or resume as the data directory says; the reason when paused."""
        reason = problem(self.settings.data_dir, self.settings.min_free_mb)
        if reason is not None:
            self.pause(reason)
        elif self.paused is not None:
            self.resume()
        return reason

    def _run(self) -> None:
        while not self._stop.wait(self.settings.disk_check_seconds):
            try:
                self.check()
                if time.monotonic() - self._last_housekeeping >= 60.0:
                    self._last_housekeeping = time.monotonic()
                    housekeeping(self.settings)
            except OSError as exc:  # one bad pass: the next one tries again
                log.warning("data directory check failed: %s", exc)


def housekeeping(settings: Settings, *, now: float | None = None) -> dict[str, int]:
    """Remove job directories older than the retention; trim idle oversized logs."""
    removed = workdirs.remove_old(
        settings.data_dir, max_age_s=settings.job_dir_retention_hours * 3600, now=now
    )
    trimmed = workdirs.trim_logs(
        settings.data_dir, max_bytes=int(settings.log_max_mb * 2**20), idle_s=_LOG_IDLE_S, now=now
    )
    if removed or trimmed:
        log.info("housekeeping: %d old job directories removed, %d logs trimmed", removed, trimmed)
    return {"removed": removed, "trimmed": trimmed}


_guard: DiskGuard | None = None


@signals.worker_ready.connect
def start_guard(sender: Any = None, **_: Any) -> None:
    """Each worker watches its data directory (see the module's docstring)."""
    global _guard
    settings = getattr(getattr(sender, "app", None), "settings", None)
    if sender is None or settings is None or settings.embedded or _guard is not None:
        return
    _guard = DiskGuard(sender, settings)
    _guard.start()


@signals.worker_shutdown.connect
def stop_guard(**_: Any) -> None:
    """Stop watching."""
    global _guard
    if _guard is not None:
        _guard.stop()
        _guard = None


@signals.task_prerun.connect
def pause_before_a_job(sender: Any = None, task: Any = None, **_: Any) -> None:
    """In a pool process: a job handed over while the data directory is full pauses the worker
    at once (its own run then fails with the reason)."""
    from jobprobe.worker.app import RUN_SIMULATION

    settings = getattr(getattr(task, "app", None), "settings", None)
    if task is None or task.name != RUN_SIMULATION or settings is None or settings.embedded:
        return
    # Only the free space here (a statvfs, microseconds): the write probe is the check's.
    reason = problem(settings.data_dir, settings.min_free_mb, probe=False)
    hostname = getattr(task.request, "hostname", None)
    if reason is None or not hostname:
        return
    if _guard is not None and _guard.pid == os.getpid():  # solo or threads: the main process
        _guard.pause(reason)
        return
    task.app.control.broadcast(PAUSE, arguments={"reason": reason}, destination=[hostname])


@control_command(args=[("reason", str)], signature="<reason>")
def jobprobe_pause(state: Any, reason: str = "data directory full", **_: Any) -> dict[str, str]:
    """Pause this worker (sent by its own pool process that found the data directory full)."""
    if _guard is None:
        return {"error": "no data directory guard in this worker"}
    _guard.pause(reason)
    return {"ok": f"paused: {reason}"}


@inspect_command()
def jobprobe_state(state: Any, **_: Any) -> dict[str, Any]:
    """Whether this worker is paused, and why; its data directory's free space."""
    if _guard is None:
        return {"paused": None}
    try:
        free: float | None = round(free_mb(_guard.settings.data_dir), 1)
    except OSError:
        free = None
    return {"paused": _guard.paused, "data_dir": str(_guard.settings.data_dir), "free_mb": free}
