"""Errors a person sees on the command line: one line on stderr and an exit code.

``guarded`` maps jobprobe's own exceptions to that line: bad input (a usage error) exits 2, a
failure of a service or a job exits 1. It looks the error classes up only in packages this
process has already imported, so a read command never imports the task layer to learn its
errors (an error of a package never imported cannot have been raised).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import IO, Any, NoReturn, ParamSpec, TypeVar

import click

from jobprobe.commands import terminal
from jobprobe.store.status import JobStatus
from jobprobe.worker import secrets

#: Bad input: a wrong option, an unknown job id, a setting with a bad value.
USAGE_ERROR = 2
#: Exit codes that follow a job's outcome (``submit --wait``); anything else ended badly (1).
EXIT_FOR_STATUS = {
    JobStatus.SUCCESS: 0, JobStatus.FAILED: 1, JobStatus.LOST: 1, JobStatus.TIMEOUT: 124,
    JobStatus.CANCELLED: 130,
}  # fmt: skip

#: (module, class) of errors caused by what the user gave: exit 2.
USAGE_ERRORS = (
    ("jobprobe.tasks.errors", "SubmitError"),
    ("jobprobe.tasks.errors", "IssNotConfigured"),
    ("jobprobe.worker.errors", "SettingsError"),
    ("jobprobe.monitor.errors", "ToolError"),
    ("jobprobe.store.errors", "JobNotFound"),
    ("jobprobe.store.errors", "AmbiguousJobId"),
    ("jobprobe.queries.errors", "QueryError"),
    ("jobprobe.llm.errors", "LlmNotConfigured"),
    ("jobprobe.llm.errors", "UnknownProvider"),
)
#: (module, class) of the error roots of jobprobe's packages: exit 1, never a traceback.
RUNTIME_ERRORS = (
    ("jobprobe.tasks.errors", "TaskError"),
    ("jobprobe.store.errors", "StoreError"),
    ("jobprobe.monitor.errors", "MonitorError"),
    ("jobprobe.iss_client.errors", "IssError"),
    ("jobprobe.llm.errors", "LlmError"),
)

P = ParamSpec("P")
R = TypeVar("R")


class CliError(click.ClickException):
    """A one-line error for the user (no traceback)."""

    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        """Print ``error: MESSAGE`` on stderr, any secret in it masked (``worker.secrets``)."""
        message = secrets.mask(self.format_message(), secrets.known_values(os.environ))
        message = terminal.escape(message)
        click.echo(f"error: {message}", err=True)


class CliUsageError(CliError):
    """A one-line error about how the command was called: exit code 2."""

    exit_code = USAGE_ERROR


def fail(message: str, code: int = 1) -> NoReturn:
    """Stop with one clear line on stderr and exit ``code`` (1, or ``USAGE_ERROR``)."""
    raise (CliUsageError if code == USAGE_ERROR else CliError)(message)


def loaded(names: tuple[tuple[str, str], ...]) -> tuple[type[BaseException], ...]:
    """The named error classes whose modules this process has imported."""
    found: list[type[BaseException]] = []
    for module, name in names:
        mod = sys.modules.get(module)
        if mod is not None:
            found.append(getattr(mod, name))
    return tuple(found)


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (its class name when it has none)."""
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn jobprobe's own errors into one line and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if isinstance(exc, loaded(USAGE_ERRORS)):
                fail(first_line(exc), USAGE_ERROR)
            if isinstance(exc, loaded(RUNTIME_ERRORS)):
                fail(first_line(exc))
            raise

    return wrapper
