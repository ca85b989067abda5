"""``job-history --limit 20`` with a filter and ``job-stats`` over one million stored jobs.

Run: ``python bench/history_million.py [--jobs 1000000] [--runs 30] [--rebuild]``. Needs
PostgreSQL on 127.0.0.1. The database ``jobprobe_bench_history`` is created (schema by the
store's migrations) and filled once with generated jobs over the last 90 days, three labels
each (team, user, project) and status events for a tenth of them; later runs reuse it
(``--rebuild`` fills it again). Queries go through ``store.job_reads.job_history``/``job_stats``, the
functions the CLI calls, each ``--runs`` times (p50 and p95, after one warm-up), and once each
through ``python cli.py`` in a subprocess (end-to-end wall time, interpreter start included).
Targets: history p50 < 20 ms, stats p50 < 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.job_throughput import PG, ensure_database  # noqa: E402
from jobprobe.store import job_reads  # noqa: E402
from jobprobe.store import jobs as store_jobs  # noqa: E402
from jobprobe.store.db import Store  # noqa: E402

DB_NAME = "jobprobe_bench_history"
DB_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"

# One statement per table, all from one generated temp table (random choices made once).
POPULATE = [
    "SELECT setseed(0.42)",
    """CREATE TEMP TABLE gen AS
       SELECT g, md5('bench' || g) AS id,
              random() AS r_tool, random() AS r_status, random() AS r_dur, random() AS r_team,
              random() AS r_user, random() AS r_proj, random() AS r_wait, random() AS r_mem,
              now() - random() * interval '90 days' AS submitted
       FROM generate_series(1, %(n)s) AS g""",
    """INSERT INTO jobs (id, source, tool, script_name, params, labels, queue, gpus, timeout_s,
                        profile_enabled, cancel_requested, status, returncode, error,
                        submitted_at, started_at, ended_at, updated_at, duration_s,
                        queue_wait_s, worker, attempts, cpu_user_s, cpu_system_s, cpu_total_s,
                        memory_peak_mb)
       SELECT id, 'local', tool, tool || '_run.py', jsonb_build_object('n', g % 1000),
              jsonb_build_object('team', team, 'user', usr, 'project', proj),
              CASE WHEN tool = 'pytorch-train' THEN 'gpu' ELSE 'cpu' END,
              CASE WHEN tool = 'pytorch-train' THEN 1 ELSE 0 END, 3600,
              true, false, status,
              CASE WHEN status = 'success' THEN 0 WHEN status = 'failed' THEN 1 END,
              CASE WHEN status = 'failed' THEN 'exited with code 1' END,
              submitted, started, ended, coalesce(ended, started, submitted),
              CASE WHEN ended IS NOT NULL THEN extract(epoch FROM ended - started) END,
              CASE WHEN started IS NOT NULL THEN wait END,
              CASE WHEN started IS NOT NULL THEN 'cpu' || (g % 16) || '@node' || (g % 4) END,
              CASE WHEN started IS NOT NULL THEN 1 ELSE 0 END,
              cpu * 0.9, cpu * 0.1, cpu, 50 + r_mem * 8000
       FROM (
         SELECT gen.*,
                (ARRAY['python','python','python','python','bash','bash','openfoam','gromacs',
                       'lammps','pytorch-train'])[1 + floor(r_tool * 10)::int] AS tool,
                CASE WHEN r_status < 0.80 THEN 'success' WHEN r_status < 0.90 THEN 'failed'
                     WHEN r_status < 0.92 THEN 'timeout' WHEN r_status < 0.94 THEN 'cancelled'
                     WHEN r_status < 0.95 THEN 'lost' WHEN r_status < 0.98 THEN 'running'
                     ELSE 'queued' END AS status,
                'team' || floor(r_team * 8)::int AS team,
                'user' || floor(r_user * 50)::int AS usr,
                'proj' || floor(r_proj * 20)::int AS proj,
                r_wait * 30 AS wait,
                exp(r_dur * 9) AS dur,
                exp(r_dur * 9) * (0.2 + r_mem) AS cpu
         FROM gen) AS s
       CROSS JOIN LATERAL (
         SELECT CASE WHEN s.status <> 'queued' THEN submitted + wait * interval '1 second' END
                AS started) AS st
       CROSS JOIN LATERAL (
         SELECT CASE WHEN s.status NOT IN ('queued', 'running')
                     THEN st.started + s.dur * interval '1 second' END AS ended) AS en""",
    """INSERT INTO job_labels (job_id, key, value)
       SELECT id, l.key, labels ->> l.key FROM jobs
       CROSS JOIN (VALUES ('team'), ('user'), ('project')) AS l(key)""",
    """INSERT INTO status_events (job_id, status, at, detail)
       SELECT id, 'queued', submitted_at, NULL FROM jobs WHERE hashtext(id) % 10 = 0
       UNION ALL
       SELECT id, status, updated_at, 'final' FROM jobs WHERE hashtext(id) % 10 = 0""",
    "VACUUM ANALYZE jobs",  # the visibility map lets job-stats scan its index only
    "VACUUM ANALYZE job_labels",
    "VACUUM ANALYZE status_events",
]
LOADED = ("jobs", "job_labels", "status_events")


def populate(n: int, rebuild: bool) -> float | None:
    """Fill the database unless it already holds ``n`` jobs; returns seconds taken, or None."""
    ensure_database(DB_NAME)
    Store(DB_URL).dispose()  # schema by the migrations
    with psycopg.connect(f"{PG} dbname={DB_NAME}", autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM jobs").fetchone()
        have = int(row[0]) if row else 0
        if have == n and not rebuild:
            return None
        t0 = time.perf_counter()
        conn.execute("TRUNCATE jobs, job_labels, status_events, samples, reports CASCADE")
        conn.execute("SET maintenance_work_mem = '256MB'")
        # Load without the secondary indexes (the migrations' own definitions, put back after).
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.tablename = ANY(%s) AND i.indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))",
            (list(LOADED),),
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for statement in POPULATE:
            if statement.startswith("VACUUM"):
                continue
            conn.execute(statement, {"n": n} if "%(n)s" in statement else None)
        for _, definition in indexes:
            conn.execute(definition)
        for statement in POPULATE:
            if statement.startswith("VACUUM"):
                conn.execute(statement)
        return time.perf_counter() - t0


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """(p50 ms, p95 ms, last result) of ``runs`` calls after one warm-up."""
    result = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))], result


def cli_wall(args: list[str]) -> float:
    """Wall ms of ``python cli.py ARGS --json`` against the bench database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
    env.update(JOBPROBE_DATABASE_URL=DB_URL, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args, "--json"], env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    wall = (time.perf_counter() - t0) * 1000
    if out.returncode != 0:
        raise RuntimeError(f"cli.py {' '.join(args)} failed: {out.stderr.strip()}")
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true", help="Fill the database again.")
    args = parser.parse_args()

    took = populate(args.jobs, args.rebuild)
    store = Store(DB_URL)

    def history(**filters: Any) -> Callable[[], Any]:
        def run() -> list[Any]:
            with store.reader() as reader:
                return job_reads.job_history(reader, limit=20, **filters)

        return run

    def stats(by: str, **filters: Any) -> Callable[[], Any]:
        def run() -> list[dict[str, Any]]:
            with store.reader() as reader:
                return job_reads.job_stats(reader, by=by, **filters)

        return run

    cases: list[tuple[str, str, Callable[[], Any], list[str], float]] = [
        ("history", "--status failed", history(status="failed"),
         ["job-history", "--limit", "20", "--status", "failed"], 20.0),
        ("history", "--tool gromacs", history(tool="gromacs"),
         ["job-history", "--limit", "20", "--tool", "gromacs"], 20.0),
        ("history", "--label team=team3", history(labels={"team": "team3"}),
         ["job-history", "--limit", "20", "--label", "team=team3"], 20.0),
        ("history", "--status lost --label team=team3",
         history(status="lost", labels={"team": "team3"}),
         ["job-history", "--limit", "20", "--status", "lost", "--label", "team=team3"], 20.0),
        ("history", "--tool lammps --since 7d", history(
            tool="lammps", since=store_jobs.utcnow() - __import__("datetime").timedelta(days=7)),
         ["job-history", "--limit", "20", "--tool", "lammps", "--since", "7d"], 20.0),
        ("stats", "--by tool", stats("tool"), ["job-stats", "--by", "tool"], 1000.0),
        ("stats", "--by label:team", stats("label:team"),
         ["job-stats", "--by", "label:team"], 1000.0),
    ]  # fmt: skip
    with store.session() as session:
        import sqlalchemy as sa

        total = session.scalar(sa.text("SELECT count(*) FROM jobs"))
    where = f"filled in {took:.0f} s" if took is not None else "reused"
    print(f"job history/stats: {total} jobs in PostgreSQL {DB_NAME} ({where}); "
          f"{args.runs} runs each through store.jobs, plus one python cli.py run")  # fmt: skip
    print(f"{'query':<8} {'filter':<34} {'rows':>5} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'cli ms':>7} {'target':>8}")  # fmt: skip
    missed = 0
    for kind, label, fn, cli_args, target in cases:
        p50, p95, result = timed(fn, args.runs)
        wall = cli_wall(cli_args)
        ok = p50 < target
        missed += not ok
        print(f"{kind:<8} {label:<34} {len(result):>5} {p50:>8.1f} {p95:>8.1f} {wall:>7.0f} "
              f"{'<' + format(target, 'g'):>6} {'ok' if ok else 'MISSED'}")  # fmt: skip
    print(f"(targets p50: history < 20 ms, stats < 1000 ms: "
          f"{'all met' if not missed else f'{missed} missed'})")  # fmt: skip
    store.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
