"""A store filled with a realistic fortnight of jobs, for the chat's tests.

Teams (label ``team``), users (label ``user``), queues ``cpu`` and ``gpu``, tools ``train``,
``infer``, ``python`` and ``lammps``; GPU jobs carry a profile with per-device utilisation;
some jobs fail, two run now and one waits; ISS jobs come from the ISS stand-in's own records
through ``store.iss_jobs.upsert_iss_job`` (and one has its output files stored). ml-team's
``train`` jobs run last week and mostly stop this week, so its GPU usage drops.

Jobs are written with the store's own functions (``create_job``, ``set_status``) and the
figures a finished job's outcome sets, on the ORM model, as the store's tests do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from jobprobe.iss_client.devserver import data as iss_data
from jobprobe.store import iss_jobs
from jobprobe.store import jobs as store_jobs
from jobprobe.store.db import Store
from jobprobe.store.status import JobStatus

USERS = {"ml-team": ["alice", "bob"], "cv-team": ["carol"], "cfd": ["dave", "erin"]}


@dataclass
class Fleet:
    """What was written: ids by role, for tests to ask about."""

    now: datetime
    ids: dict[str, list[str]] = field(default_factory=dict)

    def add(self, role: str, job_id: str) -> None:
        self.ids.setdefault(role, []).append(job_id)


def _profile(util: float | None, gpus: int) -> dict[str, Any] | None:
    if util is None or gpus == 0:
        return None
    devices = [{"index": i, "mean_util_percent": util, "max_util_percent": min(100.0, util + 20),
                "proc_mem_max_mb": 4096.0} for i in range(gpus)]  # fmt: skip
    return {"samples_collected": 120, "sampling_interval_seconds": 0.5,
            "gpu_stats": {"nvidia": devices}}  # fmt: skip


def _finished(
    store: Store, fleet: Fleet, *, start: datetime, team: str, tool: str, queue: str,
    gpus: int, util: float | None, duration_s: float, status: JobStatus, rng: random.Random,
    artifacts: list[dict[str, Any]] | None = None,
) -> str:  # fmt: skip
    user = rng.choice(USERS[team])
    with store.session() as s:
        job = store_jobs.create_job(
            s, tool=tool, queue=queue, labels={"team": team, "user": user}, gpus=gpus,
            script_name=f"{tool}.py", submitted_at=start - timedelta(seconds=30),
        )  # fmt: skip
        store_jobs.set_status(s, job, JobStatus.RUNNING, at=start)
        end = start + timedelta(seconds=duration_s)
        store_jobs.set_status(s, job, status, at=end)
        job.started_at, job.ended_at, job.duration_s, job.queue_wait_s = (
            start,
            end,
            duration_s,
            30.0,
        )
        job.worker = f"{queue}-worker-{rng.randint(1, 2)}@node"
        job.attempts = 1
        job.returncode = 0 if status == JobStatus.SUCCESS else 1
        job.error = None if status == JobStatus.SUCCESS else "CUDA error: out of memory"
        job.cpu_total_s = round(duration_s * rng.uniform(0.5, 4.0), 1)
        job.cpu_user_s = round(job.cpu_total_s * 0.9, 1)
        job.cpu_system_s = round(job.cpu_total_s - job.cpu_user_s, 1)
        job.memory_peak_mb = round(rng.uniform(200, 8000), 1)
        job.detailed_profile = _profile(util, gpus)
        job.artifacts = artifacts
        fleet.add(f"{team}/{tool}", job.id)
        return job.id


def fill(store: Store, now: datetime | None = None, seed: int = 17) -> Fleet:
    """Write the fortnight of jobs into ``store``; what was written."""
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    fleet = Fleet(now)
    for day in range(14):
        this_week = day < 7
        for hour in (3, 11, 19):
            start = now - timedelta(days=day, hours=hour)
            # ml-team trains on GPUs last week; this week only a little, and less busily.
            if not this_week or hour == 11:
                _finished(store, fleet, start=start, team="ml-team", tool="train", queue="gpu",
                          gpus=2, util=35.0 if this_week else 80.0, duration_s=3600.0,
                          status=JobStatus.SUCCESS, rng=rng)  # fmt: skip
            _finished(store, fleet, start=start + timedelta(minutes=5), team="ml-team",
                      tool="infer", queue="gpu", gpus=1, util=60.0, duration_s=900.0,
                      status=JobStatus.SUCCESS, rng=rng)  # fmt: skip
            _finished(store, fleet, start=start + timedelta(minutes=10), team="cv-team",
                      tool="python", queue="gpu", gpus=1, util=20.0, duration_s=1800.0,
                      status=JobStatus.FAILED if day % 5 == 0 and hour == 3 else JobStatus.SUCCESS,
                      rng=rng)  # fmt: skip
            _finished(store, fleet, start=start + timedelta(minutes=15), team="cfd",
                      tool="lammps", queue="cpu", gpus=0, util=None, duration_s=2400.0,
                      status=JobStatus.FAILED if day % 4 == 1 and hour == 19 else JobStatus.SUCCESS,
                      rng=rng)  # fmt: skip
    # A GPU job without GPU samples: its waste is unknown, never 0.
    _finished(store, fleet, start=now - timedelta(days=1, hours=5), team="cv-team", tool="python",
              queue="gpu", gpus=4, util=None, duration_s=1200.0, status=JobStatus.SUCCESS, rng=rng)  # fmt: skip
    fleet.add("with_files", _finished(
        store, fleet, start=now - timedelta(hours=6), team="cfd", tool="lammps", queue="cpu",
        gpus=0, util=None, duration_s=600.0, status=JobStatus.SUCCESS, rng=rng,
        artifacts=[{"name": "log.lammps", "path": "log.lammps", "size": 48213},
                   {"name": "dump.atom", "path": "dump.atom", "size": 10485760}],
    ))  # fmt: skip
    with store.session() as s:
        for team, tool, gpus in (("ml-team", "train", 2), ("cv-team", "python", 1)):
            job = store_jobs.create_job(s, tool=tool, queue="gpu", gpus=gpus,
                                        labels={"team": team, "user": USERS[team][0]},
                                        submitted_at=now - timedelta(minutes=20))  # fmt: skip
            store_jobs.set_status(s, job, JobStatus.RUNNING, at=now - timedelta(minutes=15))
            job.started_at, job.worker, job.attempts = (
                now - timedelta(minutes=15),
                "gpu-worker-1@node",
                1,
            )
            fleet.add("running", job.id)
        job = store_jobs.create_job(s, tool="lammps", queue="cpu", labels={"team": "cfd",
                                    "user": "dave"}, submitted_at=now - timedelta(minutes=2))  # fmt: skip
        fleet.add("queued", job.id)
    _sweep(store, fleet, now, rng)
    _iss(store, fleet, now)
    return fleet


def _sweep(store: Store, fleet: Fleet, now: datetime, rng: random.Random) -> None:
    """A load sweep over clients 1..6 whose throughput flattens from 4 clients on."""
    from jobprobe.store import sweeps as store_sweeps

    with store.session() as s:
        sweep = store_sweeps.create_sweep(s, tool="python", script_name="serve_load.py",
                                          vary_name="clients", vary_values=[1, 2, 3, 4, 5, 6])  # fmt: skip
        fleet.add("sweep", sweep.id)
    for i, clients in enumerate([1, 2, 3, 4, 5, 6]):
        job_id = _finished(store, fleet, start=now - timedelta(hours=30, minutes=-5 * i), team="cfd",
                           tool="python", queue="cpu", gpus=0, util=None, duration_s=60.0,
                           status=JobStatus.SUCCESS, rng=rng)  # fmt: skip
        with store.session() as s:
            job = store_jobs.get_job(s, job_id)
            job.sweep_id, job.params = sweep.id, {"clients": clients}
            throughput = 100.0 * min(clients, 4) + rng.uniform(-2, 2)
            job.metrics = {"throughput": round(throughput, 1),
                           "p99_ms": round(10.0 * max(1, clients - 3) ** 2, 1)}  # fmt: skip


def _iss(store: Store, fleet: Fleet, now: datetime) -> None:
    """ISS jobs as the ISS stand-in serves them, stored through the ISS sync's own upsert."""
    step_s = 600.0
    for dev in iss_data.seed_jobs(now - timedelta(hours=3), step_s, count=12):
        record = dev.record(now, step_s, detail=True)
        with store.session() as s:
            row, _ = iss_jobs.upsert_iss_job(s, record, queue="iss", now=now)
            fleet.add("iss", row.id)
            fleet.add("iss_external", str(record["JobRequestID"]))
            if row.status == JobStatus.SUCCESS and "iss_with_files" not in fleet.ids:
                iss_jobs.set_iss_artifacts(s, row.id, [
                    {"name": "sim.log", "path": "out/sim.log", "size": 2048, "kind": "isim"},
                    {"name": "stats.json", "path": "out/stats.json", "size": 512, "kind": "isim"},
                ])  # fmt: skip
                fleet.add("iss_with_files", str(record["JobRequestID"]))
