"""What one command invocation shares: its Settings and its Store, each built on first use.

The root group puts an ``Invocation`` on ``ctx.obj``; a command asks ``current()`` for it.
Nothing is built until a command needs it, and then once. The read commands ask for
``locations`` and ``reading_store`` instead: the four settings they need and a store read
without SQLAlchemy, so that they start without pydantic's model or the ORM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from jobprobe.commands import errors

if TYPE_CHECKING:
    from jobprobe.store.db import Store
    from jobprobe.store.reading import Readable, ReadStore
    from jobprobe.worker.locations import Locations
    from jobprobe.worker.settings import Settings


class Invocation:
    """Settings (from the environment) and the Store they name, for one command."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._store: Store | None = None
        self._locations: Locations | None = None
        self._reading: ReadStore | None = None

    @property
    def settings(self) -> Settings:
        """The Settings; a bad value is one line and exit 2."""
        if self._settings is None:
            from jobprobe.worker import errors as worker_errors
            from jobprobe.worker.settings import load_settings

            try:
                self._settings = load_settings()
            except worker_errors.SettingsError as exc:
                errors.fail(str(exc), errors.USAGE_ERROR)
        return self._settings

    @property
    def store(self) -> Store:
        """The Store of the settings' database (the one the tasks of this process use too)."""
        if self._store is None:
            from jobprobe.worker import runtime

            self._store = runtime.get_store(self.settings)
        return self._store

    @property
    def locations(self) -> Locations:
        """The broker, store, data directory and tool registry settings (``Settings``' rules,
        without building it); a bad value is one line and exit 2."""
        if self._locations is None:
            from jobprobe.worker import errors as worker_errors
            from jobprobe.worker.locations import Locations

            try:
                self._locations = Locations.from_environment()
            except worker_errors.SettingsError as exc:
                errors.fail(str(exc), errors.USAGE_ERROR)
        return self._locations

    @property
    def reading_store(self) -> Readable:
        """The store for a command that only reads: opened directly (no SQLAlchemy) when its
        schema stamp says the schema is current, else the full ``store``, which checks the
        schema (creating or upgrading it) and writes the stamp."""
        if self._reading is None and self._store is None:
            from jobprobe.store import schema_stamp
            from jobprobe.store.reading import ReadStore

            url = self.locations.resolved_database_url
            stamp = schema_stamp.stamp_path(self.locations.schema_stamp_dir, url)
            if schema_stamp.is_current(stamp, url):
                self._reading = ReadStore(url, stamp=stamp)
                click.get_current_context().call_on_close(self._reading.close)
        return self._reading if self._reading is not None else self.store


def current() -> Invocation:
    """The running command's Invocation (made on the root context if there is none yet)."""
    return click.get_current_context().find_root().ensure_object(Invocation)
