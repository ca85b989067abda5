"""Errors of the store."""

from __future__ import annotations


class StoreError(Exception):
    """The job store failed."""


class StoreUnavailable(StoreError):
    """The database cannot be reached; try again when it is back."""


class JobNotFound(StoreError):
    """No job has that id."""


class AmbiguousJobId(StoreError):
    """Several jobs start with that id prefix; give more characters."""


class Superseded(StoreError):
    """This attempt of the job is no longer its current one (its lease expired and another
    attempt claimed it, or the job ended): it must stop and write nothing."""


class ConversationNotFound(StoreError):
    """No conversation has that session id, or it expired; start a new one (leave out --session)."""


def unavailable_message(where: str, reason: str) -> str:
    """The one line for a database that cannot be reached (``where`` without its password)."""
    return f"cannot reach the database {where} ({reason}); start it or fix JOBPROBE_DATABASE_URL"
