"""Throughput of trivial jobs through ``run_simulation`` (profiling on), next to a bare task.

Run: ``python bench/job_throughput.py [--jobs 300] [--rounds 5] [--concurrency 2]``.
Needs Redis and PostgreSQL on 127.0.0.1. One real worker process (prefork, ``-c CONCURRENCY``,
queue ``cpu``) serves both sides, in the same run:

* ``bare``: ``bench.bare_true``, a plain Celery task running ``subprocess.run(["true"])``;
* ``jobprobe``: ``run_simulation`` of jobs of a tool whose command is ``["true"]``, each
  claimed in PostgreSQL, run under a JobMonitor with the profiler at the default 0.5 s interval,
  and recorded.

Each side: N tasks are sent, and the clock runs from the first send to the last task's end:
the bare side waits for each task's result, the jobprobe side for every job's outcome in the
store (looked up every 10 ms, as ``tasks.wait`` does; the job task keeps no Celery result), and
checks after the clock stops that all succeeded. Jobs are created in the store before the
clock starts (client-side work, reported apart). A warm-up round runs first. The sides take
turns in ``--rounds`` rounds of N / rounds jobs each, the first side alternating, so that a
noisy neighbour on the machine slows both; the ratio is of the totals, with the spread of the
rounds' ratios. CPU time per job is reported by process (worker with its jobs, PostgreSQL,
Redis, this client, the whole machine) to show where it goes.
``BENCH_WORKER_LOG=PATH`` keeps the worker's log.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from jobprobe.store import jobs as store_jobs  # noqa: E402
from jobprobe.store.db import Store  # noqa: E402
from jobprobe.store.models import Job  # noqa: E402
from jobprobe.worker.settings import Settings  # noqa: E402
from tests import workers  # noqa: E402

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


Usage = dict[str, float]
Meter = Callable[[], Usage]


def cpu_by_role(worker_pid: int) -> Usage:
    """CPU seconds used so far by the worker (with its children), PostgreSQL, Redis, this
    process, and the whole machine (busy time of all cores, from /proc/stat)."""
    out = {"worker": 0.0, "postgres": 0.0, "redis": 0.0, "bench": 0.0}
    me = os.getpid()
    for proc in psutil.process_iter(["name", "ppid", "cpu_times"]):
        t = proc.info["cpu_times"]
        if t is None:
            continue
        used = t.user + t.system
        name = proc.info["name"] or ""
        if proc.pid == me:
            out["bench"] += used
        elif proc.pid == worker_pid or proc.info["ppid"] == worker_pid:
            out["worker"] += used + t.children_user + t.children_system
        elif name.startswith("postgres"):
            out["postgres"] += used
        elif name.startswith("redis"):
            out["redis"] += used
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    out["machine"] = (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    return out


def run_jobprobe(app: object, store: Store, n: int, meter: Meter) -> tuple[float, float, Usage]:
    """(seconds to create, seconds to run, CPU used while running) ``n`` jobs through
    run_simulation."""
    from jobprobe.worker.app import RUN_SIMULATION, task

    t0 = time.perf_counter()
    ids = create_jobs(store, n)
    created = time.perf_counter() - t0
    sim = task(app, RUN_SIMULATION)  # type: ignore[arg-type]
    before = meter()
    t0 = time.perf_counter()
    queue = app.conf.task_default_queue  # type: ignore[attr-defined]
    for job_id in ids:
        sim.apply_async(args=[job_id], queue=queue)
    wait_ended(store, ids, timeout=60 + n)
    elapsed = time.perf_counter() - t0
    used = _delta(before, meter())
    with store.session() as session:
        bad = session.scalar(
            sa.select(sa.func.count())
            .select_from(Job)
            .where(Job.id.in_(ids), Job.status != "success")
        )
    if bad:
        raise RuntimeError(f"{bad} of {n} jobprobe jobs did not succeed")
    return created, elapsed, used


def wait_ended(store: Store, ids: list[str], *, timeout: float, poll: float = 0.01) -> None:
    """Return once every job in ``ids`` has ended in the store, as ``tasks.wait`` does (the
    job task keeps no Celery result: the store has the outcome)."""
    deadline = time.monotonic() + timeout
    running = (
        sa.select(sa.func.count())
        .select_from(Job)
        .where(Job.id.in_(ids), Job.status.not_in(store_jobs.TERMINAL))
    )
    with store.engine.connect() as conn:
        while conn.scalar(running):
            conn.rollback()  # a fresh snapshot for the next look
            if time.monotonic() > deadline:
                raise RuntimeError(f"jobs still running after {timeout:g} s")
            time.sleep(poll)


def run_bare(app: object, n: int, meter: Meter) -> tuple[float, Usage]:
    """(seconds, CPU used) to run ``n`` bare tasks (send to last result)."""
    from bench.bare_tasks import BARE_TRUE

    before = meter()
    t0 = time.perf_counter()
    queue = app.conf.task_default_queue  # type: ignore[attr-defined]
    results = [app.send_task(BARE_TRUE, queue=queue) for _ in range(n)]  # type: ignore[attr-defined]
    for r in results:
        if r.get(timeout=60 + n, interval=0.005) != 0:
            raise RuntimeError("bare task failed")
    return time.perf_counter() - t0, _delta(before, meter())


def _delta(before: Usage, after: Usage) -> Usage:
    return {k: after[k] - before[k] for k in after}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300, help="jobs per side, in all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()

    from jobprobe.worker.app import create_app

    ensure_database(DB_NAME)
    broker = workers.isolated_redis_db()
    per_round = max(1, args.jobs // args.rounds)
    bare_s = probe_s = created_s = 0.0
    bare_cpu: Usage = {}
    probe_cpu: Usage = {}
    round_ratios: list[float] = []
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
            meter = functools.partial(cpu_by_role, worker.pid)
            run_bare(app, args.warmup, meter)
            run_jobprobe(app, store, args.warmup, meter)
            for r in range(args.rounds):
                if r % 2:
                    c, p, p_cpu = run_jobprobe(app, store, per_round, meter)
                    b, b_cpu = run_bare(app, per_round, meter)
                else:
                    b, b_cpu = run_bare(app, per_round, meter)
                    c, p, p_cpu = run_jobprobe(app, store, per_round, meter)
                bare_s, probe_s, created_s = bare_s + b, probe_s + p, created_s + c
                bare_cpu, probe_cpu = _sum(bare_cpu, b_cpu), _sum(probe_cpu, p_cpu)
                round_ratios.append(b / p)
        finally:
            worker.stop()
            store.dispose()
    n = per_round * args.rounds
    bare_rate, probe_rate = n / bare_s, n / probe_s
    ratio = probe_rate / bare_rate
    print(f"job throughput: {n} jobs per side in {args.rounds} rounds, 1 worker "
          f"-c {args.concurrency} (prefork), Redis broker, PostgreSQL store, profiling at "
          f"{settings.sample_interval} s")  # fmt: skip
    print(f"{'side':<10} {'jobs':>6} {'seconds':>9} {'jobs/s':>9} {'ratio':>7}")
    print(f"{'bare':<10} {n:>6} {bare_s:>9.2f} {bare_rate:>9.1f} {1.0:>7.2f}")
    print(f"{'jobprobe':<10} {n:>6} {probe_s:>9.2f} {probe_rate:>9.1f} {ratio:>7.2f}")
    spread = sorted(round_ratios)
    print(f"ratio by round: min {spread[0]:.2f}, median {spread[len(spread) // 2]:.2f}, "
          f"max {spread[-1]:.2f}")  # fmt: skip
    print("CPU per job (ms), by process, over the timed part of each side:")
    roles = ("worker", "postgres", "redis", "bench", "machine")
    print(f"{'side':<10} " + " ".join(f"{r:>9}" for r in roles))
    for side, used in (("bare", bare_cpu), ("jobprobe", probe_cpu)):
        print(f"{side:<10} " + " ".join(f"{used[r] / n * 1000:>9.2f}" for r in roles))
    print(f"(creating the {n} jobs in the store beforehand took {created_s:.2f} s; "
          f"target ratio >= 0.7: {'met' if ratio >= 0.7 else 'NOT met'})")  # fmt: skip
    return 0


def _sum(a: Usage, b: Usage) -> Usage:
    return {k: a.get(k, 0.0) + b[k] for k in b}


if __name__ == "__main__":
    raise SystemExit(main())
