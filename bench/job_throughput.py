"""Throughput of trivial jobs through ``run_simulation`` (profiling on), next to a bare task.

Run: ``python bench/job_throughput.py [--jobs 200] [--concurrency 2]``. Needs Redis and
PostgreSQL on 127.0.0.1. One real worker process (prefork, ``-c CONCURRENCY``, queue ``cpu``)
serves both sides, in the same run:

* ``bare``: ``bench.bare_true``, a plain Celery task running ``subprocess.run(["true"])``;
* ``jobprobe``: ``run_simulation`` of jobs of a tool whose command is ``["true"]``, each
  claimed in PostgreSQL, run under a JobMonitor with the profiler at the default 0.5 s interval,
  and recorded.

Each side: N tasks are sent, and the clock runs from the first send to the last completion
(bare: its Redis result; jobprobe: the job's terminal status in the store). Jobs are created in
the store before the clock starts (client-side work, reported apart). A warm-up round runs first.
``BENCH_WORKER_LOG=PATH`` keeps the worker's log.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from store import jobs as store_jobs  # noqa: E402
from store.db import Store  # noqa: E402
from store.models import Job  # noqa: E402
from tests import workers  # noqa: E402
from worker.settings import Settings  # noqa: E402

PG = "host=127.0.0.1 port=5432 user=postgres"
DB_NAME = "jobprobe_bench"
DB_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
TOOLS = '[tools.true]\ndescription = "does nothing"\ncommand = ["true"]\nqueue = "cpu"\n'


def ensure_database(name: str) -> None:
    """Create database ``name`` on the local PostgreSQL if it does not exist."""
    with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def create_jobs(store: Store, n: int) -> list[str]:
    """Store ``n`` queued jobs of the ``true`` tool; returns their ids."""
    with store.session() as session:
        ids = [
            store_jobs.create_job(session, tool="true", queue="cpu", script_name="noop.sh",
                                  script_content="# nothing\n", timeout_s=60.0).id
            for _ in range(n)
        ]  # fmt: skip
    return ids


def wait_jobs(store: Store, ids: list[str], timeout: float) -> None:
    """Poll the store until every job is terminal (deadline ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    terminal = tuple(store_jobs.TERMINAL)
    while True:
        with store.session() as session:
            done = session.scalar(
                sa.select(sa.func.count())
                .select_from(Job)
                .where(Job.id.in_(ids), Job.status.in_(terminal))
            )
        if done == len(ids):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {done} of {len(ids)} jobs finished in {timeout} s")
        time.sleep(0.01)


def run_jobprobe(app: object, store: Store, n: int) -> tuple[float, float]:
    """(seconds to create, seconds to run) ``n`` jobs through run_simulation."""
    from worker.app import RUN_SIMULATION, task

    t0 = time.perf_counter()
    ids = create_jobs(store, n)
    created = time.perf_counter() - t0
    sim = task(app, RUN_SIMULATION)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    for job_id in ids:
        sim.apply_async(args=[job_id], queue=app.conf.task_default_queue)  # type: ignore[attr-defined]
    wait_jobs(store, ids, timeout=60 + n)
    elapsed = time.perf_counter() - t0
    with store.session() as session:
        bad = session.scalar(
            sa.select(sa.func.count())
            .select_from(Job)
            .where(Job.id.in_(ids), Job.status != "success")
        )
    if bad:
        raise RuntimeError(f"{bad} of {n} jobprobe jobs did not succeed")
    return created, elapsed


def run_bare(app: object, n: int) -> float:
    """Seconds to run ``n`` bare tasks (send to last result)."""
    from bench.bare_tasks import BARE_TRUE

    t0 = time.perf_counter()
    queue = app.conf.task_default_queue  # type: ignore[attr-defined]
    results = [app.send_task(BARE_TRUE, queue=queue) for _ in range(n)]  # type: ignore[attr-defined]
    for r in results:
        if r.get(timeout=60 + n, interval=0.005) != 0:
            raise RuntimeError("bare task failed")
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()

    from worker.app import create_app

    ensure_database(DB_NAME)
    broker = workers.isolated_redis_db()
    with tempfile.TemporaryDirectory(prefix="jobprobe-bench-") as tmp:
        data = Path(tmp) / "data"
        tools = Path(tmp) / "tools.toml"
        tools.write_text(TOOLS)
        env = workers.jobprobe_env(
            broker, DB_URL, data, JOBPROBE_TOOLS_FILE=str(tools), JOBPROBE_SAMPLE_FLUSH_SECONDS="2"
        )
        settings = Settings(
            broker_url=broker, database_url=DB_URL, data_dir=data, tools_file=tools,
            queue_cpu=env.get("JOBPROBE_QUEUE_CPU", "cpu"),
        )  # fmt: skip
        app = create_app(settings)
        store = Store(DB_URL)
        worker = workers.WorkerProcess(
            env, name="bench", queues="cpu", concurrency=args.concurrency,
            log_path=Path(os.environ.get("BENCH_WORKER_LOG", str(Path(tmp) / "worker.log"))), extra_args=("--include", "bench.bare_tasks"),
        )  # fmt: skip
        try:
            worker.wait_ready(60)
            run_bare(app, args.warmup)
            run_jobprobe(app, store, args.warmup)
            bare_s = run_bare(app, args.jobs)
            created_s, probe_s = run_jobprobe(app, store, args.jobs)
        finally:
            worker.stop()
            store.dispose()
    n = args.jobs
    bare_rate, probe_rate = n / bare_s, n / probe_s
    ratio = probe_rate / bare_rate
    print(f"job throughput: {n} jobs per side, 1 worker -c {args.concurrency} (prefork), "
          f"Redis broker, PostgreSQL store, profiling at {settings.sample_interval} s")  # fmt: skip
    print(f"{'side':<10} {'jobs':>6} {'seconds':>9} {'jobs/s':>9} {'ratio':>7}")
    print(f"{'bare':<10} {n:>6} {bare_s:>9.2f} {bare_rate:>9.1f} {1.0:>7.2f}")
    print(f"{'jobprobe':<10} {n:>6} {probe_s:>9.2f} {probe_rate:>9.1f} {ratio:>7.2f}")
    print(f"(creating the {n} jobs in the store beforehand took {created_s:.2f} s; "
          f"target ratio >= 0.7: {'met' if ratio >= 0.7 else 'NOT met'})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
