"""What a monitoring scrape reads from the store: jobs by status, tool and queue with how long
they ran and waited, counted into histogram buckets by the database in one scan of ``jobs``;
the running jobs, each with its newest sample, in one query. The workers seen lately are
``store.fleet``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobprobe.store.models import Job, Sample
from jobprobe.store.sample_reads import COLUMNS, scalar_extras
from jobprobe.store.status import JobStatus


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


@dataclass
class JobAggregates:
    """One scan's figures: jobs per (status, tool, queue), and per (tool, queue) the
    histograms of duration and queue wait (jobs that have the figure)."""

    counts: dict[tuple[str, str, str], int]
    durations: dict[tuple[str, str], Buckets]
    waits: dict[tuple[str, str], Buckets]


def _bucket(col: Any, bounds: Sequence[float]) -> Any:
    """The bucket index of ``col`` (NULL when it has no value)."""
    return sa.case(
        (col.is_(None), None), *((col <= b, i) for i, b in enumerate(bounds)), else_=len(bounds)
    )


def job_aggregates(
    session: Session, *, duration_bounds: Sequence[float], wait_bounds: Sequence[float]
) -> JobAggregates:
    """Counts and both histograms (ascending upper ``*_bounds``) in one grouped scan."""
    dur = _bucket(Job.duration_s, duration_bounds).label("dur")
    wait = _bucket(Job.queue_wait_s, wait_bounds).label("wait")
    stmt = sa.select(
        Job.status, Job.tool, Job.queue, dur, wait, sa.func.count(),
        sa.func.sum(Job.duration_s), sa.func.sum(Job.queue_wait_s),
    ).group_by(Job.status, Job.tool, Job.queue, dur, wait)  # fmt: skip
    out = JobAggregates({}, {}, {})
    for status, tool, queue, d, w, n, d_sum, w_sum in session.execute(stmt):
        key = (str(tool), str(queue))
        out.counts[(str(status), *key)] = out.counts.get((str(status), *key), 0) + int(n)
        for index, total, bounds, series in (
            (d, d_sum, duration_bounds, out.durations), (w, w_sum, wait_bounds, out.waits)
        ):  # fmt: skip
            if index is None:
                continue
            buckets = series.setdefault(key, Buckets([0] * (len(bounds) + 1)))
            buckets.counts[int(index)] += int(n)
            buckets.total += int(n)
            buckets.sum += float(total or 0.0)
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
    """The running jobs (at most ``limit``, oldest first), each with its newest sample (the
    figures of ``store.samples.latest_sample``), in one query."""
    newest = (
        sa.select(Sample.id)
        .where(Sample.job_id == Job.id)
        .order_by(Sample.t.desc(), Sample.id.desc())
        .limit(1)
        .correlate(Job)
        .scalar_subquery()
    )
    stmt = (
        sa.select(Job.id, Job.tool, Job.queue, Job.worker, Job.started_at, Sample)
        .outerjoin(Sample, Sample.id == newest)
        .where(Job.status == JobStatus.RUNNING)
        .order_by(Job.started_at, Job.id)
        .limit(limit)
    )
    jobs = []
    for job_id, tool, queue, worker, started, s in session.execute(stmt):
        sample = None
        if s is not None:
            sample = {c: getattr(s, c) for c in COLUMNS} | scalar_extras(s.extra)
            sample["t"] = s.t.timestamp()
        jobs.append(RunningJob(job_id, tool, queue, worker, started, sample))
    return jobs
