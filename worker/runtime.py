"""Per-process handles a task needs (the store, the spool), made on first use after fork."""

from __future__ import annotations

import os
import threading

from jobprobe.store.db import Store
from jobprobe.store.spool import Spool
from jobprobe.worker import locations
from jobprobe.worker.settings import Settings

_lock = threading.Lock()
_stores: dict[tuple[int, str], Store] = {}


def current_settings() -> Settings:
    """The Settings of the Celery app running the current task (a foreign app: the environment's)."""
    from celery import current_app

    settings = getattr(current_app, "settings", None)
    if settings is None:
        from jobprobe.worker.settings import load_settings

        settings = load_settings()
    return settings


def get_store(settings: Settings) -> Store:
    """This process's Store for the settings' database (one per process, never shared by fork)."""
    key = (os.getpid(), settings.resolved_database_url)
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = Store(
                settings.resolved_database_url,
                schema_stamp_dir=locations.schema_stamp_dir(settings.data_dir),
            )
            _stores[key] = store
        return store


def get_spool(settings: Settings) -> Spool:
    """The spool for outcomes the database could not take."""
    return Spool(settings.data_dir / "spool")
