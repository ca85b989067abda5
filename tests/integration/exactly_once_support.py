"""What the exactly-once fault tests share: short leases and sweeps, jobs submitted through the
Python API (one pid file per job, so each job's runs are counted by what the job itself
wrote), and the burst figures they print."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobprobe.store import job_reads, reading
from jobprobe.store import jobs as store_jobs
from jobprobe.store.db import Store
from jobprobe.store.status import TERMINAL
from jobprobe.worker.settings import Settings, load_settings
from tests import workers

#: A lease of 3 s, swept every second; a queued job unclaimed for 5 s is published again.
FAST_RECOVERY = {
    "JOBPROBE_LEASE_SECONDS": "3",
    "JOBPROBE_RECONCILE_INTERVAL": "1",
    "JOBPROBE_REQUEUE_AFTER": "5",
}


def fast_env(broker_url: str, database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """A worker's or client's environment with ``FAST_RECOVERY``."""
    return workers.jobprobe_env(broker_url, database_url, data_dir, **{**FAST_RECOVERY, **extra})


def settings_of(env: dict[str, str]) -> Settings:
    """The Settings a process with ``env`` builds (this test process's own environment has no
    ``JOBPROBE_*``)."""
    values = {k.removeprefix("JOBPROBE_").lower(): v for k, v in env.items()
              if k.startswith("JOBPROBE_")}  # fmt: skip
    return load_settings(**values)


def create(
    settings: Settings, script: Path, pidfile: Path, seconds: float, timeout: float | None = None
) -> str:
    """Store the busy job (not published); returns its id."""
    from jobprobe.tasks import submission

    params = {"pidfile": str(pidfile), "seconds": seconds}
    return submission.create("python", script, params=params, settings=settings, timeout=timeout)


def runs(pidfile: Path) -> list[int]:
    """The pids of the job's runs, one per run (what the job itself wrote)."""
    return [int(p) for p in pidfile.read_text().split()] if pidfile.exists() else []


@dataclass
class Burst:
    """The figures of a burst of jobs."""

    submitted: int
    by_status: Counter[str]
    runs: Counter[int]  # runs per job -> how many jobs
    success_events: Counter[int]  # success events per job -> how many jobs

    @property
    def lost(self) -> int:
        """Jobs that never ran or did not end."""
        return self.runs.get(0, 0) + sum(n for s, n in self.by_status.items() if s not in TERMINAL)

    @property
    def duplicated(self) -> int:
        """Jobs that ran more than once."""
        return sum(n for r, n in self.runs.items() if r > 1)

    def line(self, what: str, **extra: Any) -> str:
        more = " ".join(f"{k}={v}" for k, v in extra.items())
        return (
            f"BURST {what}: submitted={self.submitted} ended_by_status={dict(self.by_status)} "
            f"lost={self.lost} duplicated={self.duplicated} {more}"
        )


def burst(store: Store, jobs: dict[str, Path]) -> Burst:
    """Read back a burst: job id -> its pid file."""
    by_status: Counter[str] = Counter()
    success_events: Counter[int] = Counter()
    with store.session() as session:
        for job_id in jobs:
            by_status[str(store_jobs.get_job(session, job_id).status)] += 1
            events = job_reads.status_history(reading.from_session(session), job_id)
            success_events[sum(e["status"] == "success" for e in events)] += 1
    per_job = Counter(len(runs(p)) for p in jobs.values())
    return Burst(len(jobs), by_status, per_job, success_events)


def all_ended(store: Store, job_ids: list[str]) -> bool:
    with store.session() as session:
        return all(store_jobs.get_job(session, j).status in TERMINAL for j in job_ids)


def lease_expired(store: Store, job_id: str) -> bool:
    with store.session() as session:
        job = store_jobs.get_job(session, job_id)
        return job.lease_expires_at is not None and job.lease_expires_at < datetime.now(UTC)
