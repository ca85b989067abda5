"""Secrets never reach a worker's log: a filter on every handler Celery sets up.

Each record's message, and the traceback of one that carries an exception, pass through
``secrets.mask`` with the secret values of the worker's environment (and of the files its
``..._FILE`` variables name) before any handler writes them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

from celery import signals

from jobprobe.worker import secrets


class SecretMasking(logging.Filter):
    """Masks URL passwords, secret query parameters and the given secret values."""

    def __init__(self, values: Iterable[str]) -> None:
        super().__init__()
        self.values = tuple(values)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = secrets.mask(message, self.values)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = secrets.mask(record.exc_text, self.values)
        return True


def install(logger: logging.Logger, values: Iterable[str] | None = None) -> None:
    """Put one SecretMasking filter on each of ``logger``'s handlers (once per handler)."""
    found = secrets.known_values(os.environ) if values is None else list(values)
    for handler in logger.handlers:
        if not any(isinstance(f, SecretMasking) for f in handler.filters):
            handler.addFilter(SecretMasking(found))


def _mask_worker_logs(logger: logging.Logger, **_: Any) -> None:
    install(logger)


def connect() -> None:
    """Mask the logs Celery sets up from now on in this process (idempotent)."""
    for signal in (signals.after_setup_logger, signals.after_setup_task_logger):
        signal.connect(_mask_worker_logs, weak=False, dispatch_uid="jobprobe-log-masking")
