"""How ids are written and looked up: a job's or sweep's id, or a unique prefix of it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from jobprobe.store import errors

T = TypeVar("T")

#: The fewest characters of an id that a prefix is looked up by.
MIN_ID_PREFIX = 6


def resolve(
    ident: str,
    *,
    exact: Callable[[str], T | None],
    starting: Callable[[str], Sequence[str]],
    noun: str,
    hint: str,
) -> T:
    """What ``exact`` finds for ``ident``, else for the one id that starts with it (given
    ``MIN_ID_PREFIX`` or more characters; ``starting`` lists at most two such ids).
    ``JobNotFound`` or ``AmbiguousJobId`` otherwise, each one line ending with ``hint``."""
    found = exact(ident)
    if found is not None:
        return found
    if len(ident) < MIN_ID_PREFIX:
        raise errors.JobNotFound(
            f"{ident!r} is too short to find a {noun} by: give {MIN_ID_PREFIX} or more characters "
            f"of its id; {hint}"
        )
    ids = starting(ident)
    if len(ids) > 1:
        raise errors.AmbiguousJobId(f"several {noun}s start with {ident!r}; give more characters")
    found = exact(ids[0]) if ids else None
    if found is None:
        raise errors.JobNotFound(f"no {noun} {ident!r}; {hint}")
    return found


def like_prefix(ident: str) -> str:
    """A ``LIKE ... ESCAPE '\\'`` pattern matching the ids that start with ``ident``."""
    escaped = ident.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


#: Where a job's id can be found (ends a job's "not found" line).
JOB_HINT = "list jobs with 'jobprobe job-history'"
