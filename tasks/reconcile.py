"""Reconciliation: the jobs that no live attempt or broker message will finish, settled.

Two things run it, because beat may not run in a small set-up and a worker's pool may be busy
with long jobs for hours:

- beat sends ``jobprobe.reconcile`` every ``JOBPROBE_RECONCILE_INTERVAL`` seconds (the message
  expires after one interval, so a busy queue does not pile them up);
- every worker's main process sweeps on a thread of its own at the same interval (jittered),
  whatever its pool is doing. The same thread replays the worker's spool (outcomes the
  database could not take) within a second of the database's return, so that a job whose
  outcome waits there is recorded, not taken and run again.

Sweeps are idempotent and safe at once (``store.reconciliation``). In embedded mode nothing
runs them: there is no broker, and each job runs to its end in the process that submitted it.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from typing import Any

import sqlalchemy as sa
from celery import Celery, shared_task, signals

from jobprobe.monitor import recorder
from jobprobe.store import errors as store_errors
from jobprobe.store import reconciliation
from jobprobe.store.db import Store
from jobprobe.tasks import broker
from jobprobe.tasks.follow_up import queue_analysis
from jobprobe.worker import runtime
from jobprobe.worker.app import RECONCILE, RUN_SIMULATION
from jobprobe.worker.settings import Settings

log = logging.getLogger(__name__)


def reconcile_once(store: Store, app: Celery, settings: Settings) -> dict[str, list[str]]:
    """One sweep (``store.reconciliation.sweep``) publishing through ``app``; what it did."""

    def publish(job_id: str, queue: str) -> None:
        app.send_task(
            RUN_SIMULATION, args=[job_id], queue=queue,
            retry_policy={"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2},
        )  # fmt: skip

    with store.session() as session:
        result = reconciliation.sweep(
            session, max_attempts=settings.max_attempts, requeue_after=settings.requeue_after,
            publish=publish, settle_seconds=settings.lease_seconds + settings.reconcile_interval,
        )  # fmt: skip
    if result.republished:
        log.info("reconcile: published %d job(s) again: %s", len(result.republished),
                 " ".join(result.republished))  # fmt: skip
    for job_id in result.lost:
        log.warning("reconcile: job %s lost (its lease expired on its last attempt)", job_id)
    for job_id in result.cancelled:
        log.warning("reconcile: job %s cancelled (its worker is gone)", job_id)
    if result.publish_failed:
        log.warning("reconcile: broker unavailable; %d job(s) wait for the next sweep",
                    len(result.publish_failed))  # fmt: skip
    return result.as_dict()


@shared_task(name=RECONCILE, ignore_result=True)
def reconcile() -> dict[str, list[str]] | None:
    """Beat's sweep. No retry: the next one comes one interval later."""
    from celery import current_app

    settings = runtime.current_settings()
    try:
        return reconcile_once(runtime.get_store(settings), current_app, settings)
    except store_errors.StoreUnavailable as exc:
        log.info("reconcile skipped: %s", exc)
        return None


class Sweeper:
    """A worker's own sweep, on a daemon thread of its main process."""

    def __init__(self, app: Celery, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jobprobe-reconcile", daemon=True)
        self._store: Store | None = None
        self._ready = False

    def start(self) -> None:
        """Start sweeping."""
        os.register_at_fork(after_in_child=self._forget_connections)
        self._thread.start()

    def stop(self) -> None:
        """Stop at once (a sweep in progress finishes first)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        if self._store is not None:
            self._store.dispose()

    def _forget_connections(self) -> None:
        # A pool child forked from the main process must never use (or close) its sockets.
        if self._store is not None:
            self._store.engine.dispose(close=False)

    def _schema_ready(self) -> bool:
        """Whether the store has its tables. This thread never creates them: an upgrade run at
        the same moment as a client's or a task's on a new database would collide with it."""
        if self._store is None:
            self._store = Store(self.settings.resolved_database_url, migrate=False)
        if not self._ready:
            with self._store.transaction() as conn:
                self._ready = sa.inspect(conn).has_table("jobs")
        return self._ready

    def _run(self) -> None:
        interval = self.settings.reconcile_interval
        spool = runtime.get_spool(self.settings)
        next_sweep = time.monotonic() + interval * random.uniform(0.8, 1.2)
        while not self._stop.wait(min(1.0, max(0.0, next_sweep - time.monotonic()))):
            try:
                if not self._schema_ready():
                    continue
                assert self._store is not None
                if spool.pending():
                    recorder.replay_spool(self._store, spool, on_replayed=queue_analysis)
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + interval * random.uniform(0.8, 1.2)
                    reconcile_once(self._store, self.app, self.settings)
            except store_errors.StoreUnavailable as exc:
                log.debug("reconcile skipped: %s", exc)
            except store_errors.StoreError as exc:
                log.warning("reconcile failed: %s", exc)
            except broker.BROKER_ERRORS as exc:
                log.info("reconcile skipped, broker unavailable: %s", exc)
            except Exception:  # this thread must outlive any one sweep: say what broke, go on
                log.exception("reconcile failed unexpectedly; sweeping again later")


_sweeper: Sweeper | None = None


@signals.worker_ready.connect
def start_sweeper(sender: Any = None, **_: Any) -> None:
    """Each worker sweeps on its own (see the module's docstring)."""
    global _sweeper
    app = getattr(sender, "app", None)
    settings = getattr(app, "settings", None)
    if app is None or settings is None or settings.embedded or _sweeper is not None:
        return
    _sweeper = Sweeper(app, settings)
    _sweeper.start()


@signals.worker_shutdown.connect
def stop_sweeper(**_: Any) -> None:
    """Stop this worker's sweep."""
    global _sweeper
    if _sweeper is not None:
        _sweeper.stop()
        _sweeper = None
