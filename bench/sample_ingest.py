"""Sample ingest rate of ``store.samples.write_samples`` next to raw psycopg COPY, same table.

Run: ``python bench/sample_ingest.py [--samples 50000]``. Needs PostgreSQL on 127.0.0.1.
The samples are copies of one real ``ResourceProfiler`` sample taken at start (every key it
makes here: counters, rates, the per-core list), with ``t`` and a few values varied. For each
batch size (10 and 200: a flush of a 0.5 s profiler every 5 s, and a backlog after an outage):

* ``store``: ``write_samples(store, job_id, 1, batch)`` per batch (dicts in, COPY out);
* ``raw COPY``: one open psycopg connection, ``COPY samples (...) FROM STDIN`` of rows already
  converted to tuples, one commit per batch (the ceiling: no conversion, no pool).

Both write the same number of rows into the same ``samples`` table of ``jobprobe_bench``,
vacuumed first. The sides take turns, a tenth of the samples at a time (the first side
alternating), so neither meets a bigger table or a busier autovacuum than the other.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.job_throughput import DB_NAME, DB_URL, PG, ensure_database  # noqa: E402
from jobprobe.store import jobs as store_jobs  # noqa: E402
from jobprobe.store import samples as store_samples  # noqa: E402
from jobprobe.store.db import Store  # noqa: E402


def template_sample() -> dict[str, Any]:
    """One real sample of this process from the profiler."""
    from jobprobe.profiler import ResourceProfiler

    got: list[dict[str, Any]] = []
    prof = ResourceProfiler(0.05, on_sample=got.append, gpu=False)
    prof.start_profiling()
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    prof.stop_profiling()
    return got[0]


def make_samples(n: int) -> list[dict[str, Any]]:
    base = template_sample()
    t0 = time.time()
    out = []
    for i in range(n):
        s = dict(base)
        s["t"] = t0 + i * 0.5
        s["elapsed_s"] = i * 0.5
        s["cpu_percent"] = float(i % 100)
        s["proc_rss_mb"] = 100.0 + i % 50
        s["proc_count"] = 1 + i % 8
        out.append(s)
    return out


def new_job(store: Store) -> str:
    with store.session() as session:
        return store_jobs.create_job(session, tool="bench", queue="cpu", status="running").id


def run_store(store: Store, job_id: str, samples: list[dict[str, Any]], batch: int) -> float:
    t0 = time.perf_counter()
    for i in range(0, len(samples), batch):
        store_samples.write_samples(store, job_id, 1, samples[i : i + batch])
    return time.perf_counter() - t0


def run_raw(
    conn: psycopg.Connection[Any], job_id: str, samples: list[dict[str, Any]], batch: int
) -> float:
    rows = [store_samples._row(job_id, 1, s) for s in samples]  # converted before the clock
    sql = f"COPY samples ({', '.join(store_samples.COPY_COLUMNS)}) FROM STDIN"
    t0 = time.perf_counter()
    for i in range(0, len(rows), batch):
        with conn.cursor() as cur, cur.copy(sql) as copy:
            for row in rows[i : i + batch]:
                copy.write_row(row)
        conn.commit()
    return time.perf_counter() - t0


def run_both(
    store: Store, samples: list[dict[str, Any]], batch: int, rounds: int = 10
) -> tuple[float, float]:
    """(raw seconds, store seconds) for all ``samples``, the sides taking turns by chunks."""
    raw_job, store_job = new_job(store), new_job(store)
    raw_s = store_s = 0.0
    chunk = -(-len(samples) // rounds)
    with psycopg.connect(f"{PG} dbname={DB_NAME}") as conn:
        for r, i in enumerate(range(0, len(samples), chunk)):
            part = samples[i : i + chunk]
            if r % 2 == 0:
                raw_s += run_raw(conn, raw_job, part, batch)
                store_s += run_store(store, store_job, part, batch)
            else:
                store_s += run_store(store, store_job, part, batch)
                raw_s += run_raw(conn, raw_job, part, batch)
    n = len(samples)
    if count_and_clear(raw_job) != n or count_and_clear(store_job) != n:
        raise RuntimeError("a side did not write every sample")
    return raw_s, store_s


def count_and_clear(job_id: str) -> int:
    with psycopg.connect(f"{PG} dbname={DB_NAME}", autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM samples WHERE job_id = %s", (job_id,)).fetchone()
        conn.execute("DELETE FROM jobs WHERE id = %s", (job_id,))  # cascades to samples
    return int(row[0]) if row else 0


def vacuum() -> None:
    """Start from a compact table (repeated runs leave dead rows behind)."""
    with psycopg.connect(f"{PG} dbname={DB_NAME}", autocommit=True) as conn:
        conn.execute("VACUUM (FULL, ANALYZE) samples")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--batches", type=int, nargs="+", default=[10, 200])
    args = parser.parse_args()
    ensure_database(DB_NAME)
    store = Store(DB_URL)
    samples = make_samples(args.samples)
    n = len(samples)
    vacuum()
    run_both(store, samples[:500], 50, rounds=2)  # warm-up: connections, caches
    print(f"sample ingest: {n} samples of {len(samples[0])} keys into samples "
          f"(PostgreSQL {DB_NAME}), same run")  # fmt: skip
    print(f"{'batch':>6} {'side':<9} {'samples':>8} {'seconds':>8} {'samples/s':>10} {'ratio':>6}")
    worst = float("inf")
    for batch in args.batches:
        raw_s, store_s = run_both(store, samples, batch)
        ratio = raw_s / store_s
        worst = min(worst, ratio)
        print(f"{batch:>6} {'raw COPY':<9} {n:>8} {raw_s:>8.2f} {n / raw_s:>10.0f} {1.0:>6.2f}")
        print(f"{batch:>6} {'store':<9} {n:>8} {store_s:>8.2f} {n / store_s:>10.0f} {ratio:>6.2f}")
    print(f"(target ratio >= 0.5: {'met' if worst >= 0.5 else 'NOT met'}; worst {worst:.2f})")
    store.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
