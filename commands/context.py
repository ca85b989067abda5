"""What one command invocation shares: its Settings and its Store, each built on first use.

The root group puts an ``Invocation`` on ``ctx.obj``; a command asks ``current()`` for it.
Nothing is built until a command needs it, and then once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from jobprobe.commands import errors

if TYPE_CHECKING:
    from jobprobe.store.db import Store
    from jobprobe.worker.settings import Settings


class Invocation:
    """Settings (from the environment) and the Store they name, for one command."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._store: Store | None = None

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


def current() -> Invocation:
    """The running command's Invocation (made on the root context if there is none yet)."""
    return click.get_current_context().find_root().ensure_object(Invocation)
