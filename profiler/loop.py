"""The drift-free sampling loop.

Tick ``k`` is scheduled at ``start + k * interval`` on ``time.monotonic()``; the thread waits on
``Event.wait(deadline - now)`` so a stop is immediate, and ticks that were missed (a slow sample,
a suspended machine) are skipped rather than run back to back.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class SamplingLoop:
    """Call ``tick(scheduled_monotonic)`` every ``interval`` seconds on a daemon thread."""

    def __init__(self, interval: float, tick: Callable[[float], None], *, name: str) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        self.interval = interval
        self._tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._start = 0.0
        self.skipped = 0
        #: CPU seconds the loop thread itself has spent (``time.thread_time``).
        self.thread_cpu_seconds = 0.0

    def start(self, start_monotonic: float) -> None:
        """Begin ticking at ``start_monotonic + interval``."""
        self._start = start_monotonic
        self._thread.start()

    def _run(self) -> None:
        cpu0 = time.thread_time()
        k = 1
        try:
            while True:
                deadline = self._start + k * self.interval
                if self._stop.wait(max(0.0, deadline - time.monotonic())):
                    return
                self._tick(deadline)
                self.thread_cpu_seconds = time.thread_time() - cpu0
                # Next tick strictly in the future: missed ticks are skipped, not bunched.
                due = math.floor((time.monotonic() - self._start) / self.interval) + 1
                if due > k + 1:
                    self.skipped += due - k - 1
                k = max(k + 1, due)
        finally:
            self.thread_cpu_seconds = time.thread_time() - cpu0

    def stop(self, timeout: float = 2.0) -> None:
        """Stop ticking; returns once a tick in progress has finished (bounded by ``timeout``)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("sampling thread did not stop within %.1f s", timeout)
