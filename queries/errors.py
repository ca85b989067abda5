"""Errors of the read layer: each says, in one line, what was wrong and what to do.

``NotFound`` (no job or sweep has that id) and ``BadInput`` (an id prefix too short or shared
by several, a filter value that does not parse) are what a caller maps to its own answer: the
command line to exit code 2, the web API to 404 and 422. A store that cannot be reached stays
a ``store.errors.StoreUnavailable``: not the caller's input, so not a query error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from jobprobe.store.ids import MIN_ID_PREFIX


class QueryError(Exception):
    """A read could not be answered from what was asked."""


class NotFound(QueryError):
    """No job or sweep has that id; list them with 'jobprobe job-history'."""


class BadInput(QueryError):
    """A value given to a query is not one it can use."""


class AmbiguousId(BadInput):
    """Several jobs or sweeps start with that id prefix; give more characters."""


class IdTooShort(AmbiguousId):
    """An id prefix under six characters; give 6 or more characters of the id."""


class BadFilter(BadInput):
    """A filter value (status, label, since, cursor, grouping) that does not parse.

    ``field`` names the filter (``status``, ``labels``, ``since``, ``cursor``, ``by``, ...).
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@contextmanager
def looked_up(ident: str) -> Iterator[None]:
    """Translate the store's lookup errors for id ``ident`` into ``NotFound``,
    ``AmbiguousId`` or ``IdTooShort`` (same message)."""
    from jobprobe.store import errors as store_errors

    try:
        yield
    except store_errors.AmbiguousJobId as exc:
        raise AmbiguousId(str(exc)) from exc
    except store_errors.JobNotFound as exc:
        cls = IdTooShort if len(ident) < MIN_ID_PREFIX else NotFound
        raise cls(str(exc)) from exc
