"""What a monitoring scrape reads from the store: jobs by status, tool and queue; how long jobs
ran and waited, counted into histogram buckets by the database; the running jobs (their
latest samples come from ``store.samples.latest_sample``). The workers seen lately are
``store.fleet``'s.

Each is one aggregate query (one scan of ``jobs`` at most), so a scrape stays cheap at a million
jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobprobe.store.models import Job
from jobprobe.store.status import JobStatus


def job_counts(session: Session) -> list[tuple[str, str, str, int]]:
    """``(status, tool, queue, jobs)`` for every combination the store holds."""
    stmt = sa.select(Job.status, Job.tool, Job.queue, sa.func.count()).group_by(
        Job.status, Job.tool, Job.queue
    )
    return [(str(s), str(t), str(q), int(n)) for s, t, q, n in session.execute(stmt)]


@dataclass
class Buckets:
    """Counts of one histogram series: ``counts[i]`` values at most ``bounds[i]`` (not
    cumulative; the last entry counts those above every bound), their number and sum."""

    counts: list[int]
    total: int = 0
    sum: float = 0.0

    def add(self, other: Buckets) -> None:
        """Merge another series of the same bounds into this one."""
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.total += other.total
        self.sum += other.sum


#: The job columns a histogram may be made of (seconds).
HISTOGRAM_COLUMNS = {"duration_s": Job.duration_s, "queue_wait_s": Job.queue_wait_s}


def histogram(
    session: Session, column: str, bounds: Sequence[float]
) -> dict[tuple[str, str], Buckets]:
    """``(tool, queue) -> Buckets`` of ``column`` (``duration_s`` or ``queue_wait_s``) over
    the jobs that have a value, bucketed in SQL by the ascending upper ``bounds``."""
    col: Any = HISTOGRAM_COLUMNS[column]
    index = sa.case(*((col <= b, i) for i, b in enumerate(bounds)), else_=len(bounds))
    bucket = index.label("bucket")
    stmt = (
        sa.select(Job.tool, Job.queue, bucket, sa.func.count(), sa.func.sum(col))
        .where(col.is_not(None))
        .group_by(Job.tool, Job.queue, bucket)
    )
    out: dict[tuple[str, str], Buckets] = {}
    for tool, queue, i, n, total in session.execute(stmt):
        series = out.setdefault((str(tool), str(queue)), Buckets([0] * (len(bounds) + 1)))
        series.counts[int(i)] += int(n)
        series.total += int(n)
        series.sum += float(total or 0.0)
    return out


@dataclass
class RunningJob:
    """A running job as a scrape shows it."""

    id: str
    tool: str
    queue: str
    worker: str | None
    started_at: datetime | None
    sample: dict[str, Any] | None = field(default=None)


def running_jobs(session: Session, *, limit: int = 1000) -> list[RunningJob]:
    """The running jobs (at most ``limit``, oldest first), each with its newest sample."""
    from jobprobe.store import samples

    stmt = (
        sa.select(Job.id, Job.tool, Job.queue, Job.worker, Job.started_at)
        .where(Job.status == JobStatus.RUNNING)
        .order_by(Job.started_at, Job.id)
        .limit(limit)
    )
    jobs = [RunningJob(*row) for row in session.execute(stmt)]
    for job in jobs:
        job.sample = samples.latest_sample(session, job.id)
    return jobs
