"""The web API at one million jobs: the job list with a filter, and a job page's data with
7,200 samples (an hour at 0.5 s), over real HTTP from ``jobprobe serve``.

Run: ``python bench/web_api.py [--jobs 1000000] [--samples 7200] [--runs 30] [--keep]
[--reuse]``. Needs PostgreSQL on 127.0.0.1. A database of its own, ``jobprobe_bench_web``, is created (schema by
the store's migrations), filled with generated jobs by the statements of
``bench/history_million.py`` (labels team/user/project, status events for a tenth), one
finished job gets ``--samples`` samples with the figures a profiled job stores (columns and
extras), and the database is dropped at the end unless ``--keep``. ``python cli.py serve
--port 0`` runs in a subprocess over it; each request is timed from this process with httpx
(keep-alive), ``--runs`` times after one warm-up: p50 and p95.

Targets (issue 16): the job list with a filter p50 < 50 ms; the job page (its record, then
its samples) < 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from bench.history_million import LOADED, POPULATE  # noqa: E402
from bench.job_throughput import PG  # noqa: E402
from jobprobe.store.db import Store  # noqa: E402

DB_NAME = "jobprobe_bench_web"
DB_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
LIST_TARGET_MS, PAGE_TARGET_MS = 50.0, 200.0

#: One finished job's samples: every column a profiled job writes, and extras like a job in
#: its own control group (cg_*), per-device I/O and network counters.
SAMPLES = """
INSERT INTO samples (job_id, attempt, t, elapsed_s, cpu_percent, load1, mem_used_mb, mem_percent,
    swap_used_mb, proc_cpu_percent, proc_cpu_seconds, proc_rss_mb, proc_count, proc_threads,
    proc_read_bytes, proc_write_bytes, proc_read_bps, proc_write_bps, disk_read_bps,
    disk_write_bps, net_sent_bps, net_recv_bps, extra)
SELECT %(job)s, 1, %(start)s::timestamptz + g * interval '0.5 second', g * 0.5,
    40 + 30 * sin(g / 50.0), 1.5, 6000 + g * 0.01, 37.5, 0, 95 + 5 * sin(g / 20.0), g * 0.48,
    NULL, 4, 12, g * 4096, g * 8192, 8192, 16384, 10000, 20000, 300, 500,
    jsonb_build_object(
        'cg_mem_current_mb', 900 + g * 0.05, 'cg_mem_peak_mb', 900 + g * 0.05,
        'cg_mem_anon_mb', 700 + g * 0.04, 'cg_mem_cache_mb', 200, 'cg_mem_shmem_mb', 0,
        'cg_oom_kills', 0, 'cg_tasks_peak', 12, 'proc_user_seconds', g * 0.4,
        'proc_system_seconds', g * 0.08, 'proc_read_count', g, 'proc_write_count', 2 * g,
        'disk_read_bytes', g * 4096.0, 'disk_write_bytes', g * 8192.0, 'disk_read_count', g * 1.0,
        'disk_write_count', g * 2.0, 'net_sent_bytes', g * 300.0, 'net_recv_bytes', g * 500.0,
        'net_packets_sent', g * 3.0, 'net_packets_recv', g * 5.0)
FROM generate_series(1, %(n)s) AS g
"""


def reusable(jobs: int, samples: int) -> str | None:
    """The id of the job with samples when a kept database already holds what is asked."""
    try:
        with psycopg.connect(f"{PG} dbname={DB_NAME}") as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM jobs), job_id, count(*) FROM samples "
                "GROUP BY job_id LIMIT 1"
            ).fetchone()
    except psycopg.OperationalError:  # no such database yet
        return None
    return str(row[1]) if row and row[0] == jobs and row[2] == samples else None


def create_and_fill(jobs: int, samples: int) -> tuple[float, str]:
    """Make the database, fill it; returns (seconds taken, the id of the job with samples)."""
    with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    t0 = time.perf_counter()
    Store(DB_URL).dispose()  # the schema, by the migrations
    with psycopg.connect(f"{PG} dbname={DB_NAME}", autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        # Loaded without the secondary indexes (the migrations' definitions, put back after).
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND indexname "
            "NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))",
            (list(LOADED),),
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for statement in POPULATE:
            if not statement.startswith("VACUUM"):
                conn.execute(statement, {"n": jobs} if "%(n)s" in statement else None)
        for _, definition in indexes:
            conn.execute(definition)
        row = conn.execute(
            "SELECT id, started_at FROM jobs WHERE status = 'success' AND started_at IS NOT NULL "
            "ORDER BY submitted_at DESC LIMIT 1"
        ).fetchone()
        assert row is not None, "no finished job was generated"
        job_id, started = row
        conn.execute(SAMPLES, {"job": job_id, "start": started, "n": samples})
        for statement in [
            *(s for s in POPULATE if s.startswith("VACUUM")),
            "VACUUM ANALYZE samples",
        ]:
            conn.execute(statement)
    return time.perf_counter() - t0, str(job_id)


def drop() -> None:
    with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


class Server:
    """``python cli.py serve --port 0 --json`` over the bench database, stopped by its PID."""

    def __init__(self, data_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
        env.update(JOBPROBE_DATABASE_URL=DB_URL, JOBPROBE_DATA_DIR=str(data_dir),
                   PYTHONPATH=str(ROOT))  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "cli.py"), "serve", "--port", "0", "--json",
             "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(30)
            raise RuntimeError(f"jobprobe serve did not start (exit {self.proc.returncode})")
        self.url = str(json.loads(line)["url"])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def timed(http: httpx.Client, paths: list[str], runs: int) -> tuple[float, float, int]:
    """(p50 ms, p95 ms, bytes) of getting ``paths`` one after the other, ``runs`` times."""

    def once() -> int:
        size = 0
        for path in paths:
            response = http.get(path)
            response.raise_for_status()
            size += len(response.content)
        return size

    size = once()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        size = once()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))], size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=7200)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument(
        "--reuse", action="store_true", help="Use a kept database that holds what is asked."
    )
    args = parser.parse_args()

    kept = reusable(args.jobs, args.samples) if args.reuse else None
    took, job_id = (0.0, kept) if kept else create_and_fill(args.jobs, args.samples)
    data_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"jobprobe-bench-web-{os.getpid()}"
    server = Server(data_dir)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            cursor = http.get("/api/v1/jobs", params={"limit": 20}).json()["next_cursor"]
            lists: list[tuple[str, str]] = [
                ("no filter", "/api/v1/jobs?limit=20"),
                ("status=failed", "/api/v1/jobs?limit=20&status=failed"),
                ("tool=gromacs", "/api/v1/jobs?limit=20&tool=gromacs"),
                ("label=team=team3", "/api/v1/jobs?limit=20&label=team%3Dteam3"),
                ("status=lost&label=team=team3",
                 "/api/v1/jobs?limit=20&status=lost&label=team%3Dteam3"),
                ("tool=lammps&since=7d", "/api/v1/jobs?limit=20&tool=lammps&since=7d"),
                ("queue=gpu&status=running", "/api/v1/jobs?limit=20&queue=gpu&status=running"),
                ("page 2 (cursor)", str(httpx.URL("/api/v1/jobs", params={"limit": 20, "cursor": cursor}))),
            ]  # fmt: skip
            page = [
                ("job record", [f"/api/v1/jobs/{job_id}"], None),
                (f"{args.samples} samples", [f"/api/v1/jobs/{job_id}/timeseries"], None),
                ("job page (record + samples)",
                 [f"/api/v1/jobs/{job_id}", f"/api/v1/jobs/{job_id}/timeseries"], PAGE_TARGET_MS),
                ("record with timeseries=true", [f"/api/v1/jobs/{job_id}?timeseries=true"], None),
                ("/metrics", ["/metrics"], None),
                ("GET /workers", ["/api/v1/workers"], None),
            ]  # fmt: skip
            where = "kept from a run before" if kept else f"filled in {took:.0f} s"
            print(f"web API: {args.jobs} jobs in PostgreSQL {DB_NAME} ({where}), "
                  f"job {job_id[:8]} with {args.samples} samples; jobprobe serve in a subprocess, "
                  f"httpx keep-alive, {args.runs} runs each after a warm-up")  # fmt: skip
            print(f"{'request':<40} {'p50 ms':>8} {'p95 ms':>8} {'KB':>8}  target")
            missed = 0
            for label, path in lists:
                p50, p95, size = timed(http, [path], args.runs)
                ok = p50 < LIST_TARGET_MS
                missed += not ok
                target = f"<{LIST_TARGET_MS:g} {'ok' if ok else 'MISSED'}"
                print(
                    f"{'GET /jobs ' + label:<40} {p50:>8.1f} {p95:>8.1f} {size / 1024:>8.1f}  {target}"
                )
            for label, paths, limit in page:
                p50, p95, size = timed(http, paths, args.runs)
                ok = limit is None or p50 < limit
                missed += not ok
                target = "" if limit is None else f"<{limit:g} {'ok' if ok else 'MISSED'}"
                print(f"{label:<40} {p50:>8.1f} {p95:>8.1f} {size / 1024:>8.1f}  {target}")
            print(
                f"(targets p50: a filtered job list < {LIST_TARGET_MS:g} ms, the job page "
                f"< {PAGE_TARGET_MS:g} ms: {'all met' if not missed else f'{missed} missed'})"
            )
    finally:
        server.stop()
        if not args.keep:
            drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
