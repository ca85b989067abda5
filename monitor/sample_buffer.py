"""Buffers profiler samples and hands them to a writer every few seconds, off the sampling thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Writer = Callable[[list[dict[str, Any]]], None]


class SampleBuffer:
    """Collects samples (``add`` is cheap, called on the profiler thread) and flushes them.

    A failed write keeps the samples for the next flush (bounded by ``max_pending``), so an
    outage of the store loses nothing short of that bound.
    """

    def __init__(
        self, write: Writer, *, flush_seconds: float = 2.0, max_pending: int = 200_000
    ) -> None:
        self._write = write
        self._flush_seconds = flush_seconds
        self._max_pending = max_pending
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._warned = False
        self.written = 0
        self.dropped = 0
        self._started_at: float | None = None
        self._thread = threading.Thread(target=self._run, name="sample-flush", daemon=True)

    def start(self) -> None:
        """Start flushing in the background (the thread starts with the first flush due: a job
        shorter than ``flush_seconds`` never needs one, its samples go with its outcome)."""
        self._started_at = time.monotonic()

    def add(self, sample: dict[str, Any]) -> None:
        """Queue one sample."""
        with self._lock:
            self._pending.append(sample)
            overflow = len(self._pending) - self._max_pending
            if overflow > 0:
                del self._pending[:overflow]
                self.dropped += overflow
            since = self._started_at
            if since is None or self._thread.is_alive() or self._stop.is_set():
                return
            if time.monotonic() - since >= self._flush_seconds:
                self._thread.start()

    def flush(self) -> bool:
        """Write what is pending; True when nothing is left pending."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return True
        try:
            self._write(batch)
        except Exception as exc:  # the writer's errors are the store's; keep the samples and retry
            with self._lock:
                self._pending[:0] = batch
            if not self._warned:
                log.warning("could not write samples (%s); keeping them for the next flush", exc)
                self._warned = True
            return False
        self.written += len(batch)
        return True

    def _run(self) -> None:
        self.flush()
        while not self._stop.wait(self._flush_seconds):
            self.flush()

    def close(self) -> list[dict[str, Any]]:
        """Stop the thread; returns the samples not written yet.

        No last flush here: the caller writes them in the same transaction as the job's outcome
        (or spools them with it), which saves a transaction per job and keeps the two together.
        """
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        with self._lock:
            left, self._pending = self._pending, []
        return left
