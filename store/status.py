"""Job and sweep statuses, and which of them count as ended, finished and failed; where a job
runs (its source).

Standard library only, so every package (and a command line that must start fast) may import
it. The values are the strings the database and the JSON records hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class JobStatus(StrEnum):
    """Where a job is: waiting, running, or how it ended."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    LOST = "lost"


#: Statuses a job never leaves.
TERMINAL: frozenset[JobStatus] = frozenset(
    {JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.TIMEOUT, JobStatus.CANCELLED, JobStatus.LOST}
)
#: Ended with an outcome of its own: what a success rate counts. A cancelled job was stopped
#: by a person; it neither succeeded nor failed.
FINISHED: frozenset[JobStatus] = TERMINAL - {JobStatus.CANCELLED}
#: Finished without success (failed, timed out, or its worker lost every time).
FAILURES: frozenset[JobStatus] = FINISHED - {JobStatus.SUCCESS}


def success_rate(succeeded: int, finished: int) -> float | None:
    """Successes over finished jobs (statuses in ``FINISHED``); None when none finished."""
    return succeeded / finished if finished else None


def success_rate_of(statuses: Iterable[str]) -> float | None:
    """``success_rate`` of the jobs with these statuses (unfinished ones do not count)."""
    finished = [s for s in statuses if s in FINISHED]
    return success_rate(sum(s == JobStatus.SUCCESS for s in finished), len(finished))


class SweepStatus(StrEnum):
    """A sweep runs until its report is written; then it is done, or failed when no job of it
    succeeded."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobSource(StrEnum):
    """Where a job runs: on jobprobe's workers, or on ISS (a mirrored remote job)."""

    LOCAL = "local"
    ISS = "iss"
