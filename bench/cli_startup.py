"""Wall time of the read commands, side by side with a bare ``python -c pass``.

Run: ``python bench/cli_startup.py [--runs 15] [--json]``. Needs PostgreSQL on 127.0.0.1 for
the PostgreSQL rows (skipped with the reason where it is down).

A throwaway data directory gets two real jobs (``submit bash ... --wait``, embedded mode) on
each backend: SQLite under the data directory, and the database ``jobprobe_bench_cli`` on
PostgreSQL (made anew each run). Then ``python cli.py job-history``, ``job-details ID``,
``job-stats``, ``logs ID`` and ``tools`` run ``--runs`` times each, in turns with
``python -c pass``, so that both see the same machine. Printed: median and p90 wall time per
command, the median's excess over the bare interpreter and the ratio to it, and which heavy
modules (Celery, kombu, Alembic, numpy, scipy, matplotlib, SQLAlchemy, pydantic, psycopg 3)
each command imported (from ``-X importtime``), and the machine's load average. Target (issue
11): at most 0.2 s wall on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_DB = "jobprobe_bench_cli"
#: What the read commands must not import: the task layer's stack, the ORM and pydantic (the
#: full store and Settings), and psycopg 3 (psycopg2 reads PostgreSQL in a fifth of its time).
HEAVY = ("celery", "kombu", "alembic", "numpy", "scipy", "matplotlib", "sqlalchemy", "pydantic",
         "psycopg")  # fmt: skip
#: Issue 11's budget for a read command on a quiet machine (median wall seconds).
TARGET_S = 0.2
JOB_SCRIPT = 'echo "bench job $SIM_N"; head -c 200000 /dev/zero | md5sum\n'


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def cli(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "cli.py"), *args]


def seed(env: dict[str, str], script: Path) -> str:
    """Two real jobs in the store; returns the id of the last one."""
    job_id = ""
    for n in (1, 2):
        out = run(cli("submit", "bash", str(script), "--param", f"n={n}", "--wait", "--json"), env)
        if out.returncode != 0:
            raise SystemExit(f"seeding failed: {out.stderr.strip() or out.stdout.strip()}")
        job_id = json.loads(out.stdout)["task_id"]
    return job_id


def pg_available() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{PG_DB}"')
    except psycopg.Error as exc:
        return f"PostgreSQL on 127.0.0.1:5432 is not reachable ({str(exc).splitlines()[0]})"
    return None


def heavy_imports(argv: list[str], env: dict[str, str]) -> list[str]:
    out = run([argv[0], "-X", "importtime", *argv[1:]], env)
    loaded = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if "|" in line}
    return sorted({name for name in loaded for h in HEAVY if name == h or name.startswith(h + ".")})


def top_level(names: list[str]) -> list[str]:
    return sorted({n.split(".")[0] for n in names})


def measure(commands: dict[str, list[str]], env: dict[str, str], runs: int) -> dict[str, Any]:
    """Wall seconds of each command, ``runs`` rounds, every round in a rotated order."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for r in range(runs):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            t0 = time.perf_counter()
            out = run(commands[name], env)
            times[name].append(time.perf_counter() - t0)
            if out.returncode != 0:
                raise SystemExit(f"{name} failed: {out.stderr.strip()}")
    return times


def summarise(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    base = statistics.median(times["python -c pass"])
    rows = {}
    for name, ts in times.items():
        med = statistics.median(ts)
        rows[name] = {
            "median_s": med,
            "p90_s": statistics.quantiles(ts, n=10)[-1] if len(ts) >= 2 else med,
            "excess_s": med - base,
            "ratio": med / base,
        }
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="rounds per command (default 15)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    backends: dict[str, str | None] = {"sqlite": None}
    skipped: dict[str, str] = {}
    reason = pg_available()
    if reason is None:
        backends["postgresql"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
    else:
        skipped["postgresql"] = reason

    results: dict[str, Any] = {
        "runs": args.runs, "skipped": skipped, "backends": {}, "target_s": TARGET_S,
        "load_average_1m": os.getloadavg()[0],
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="jobprobe-bench-cli-") as tmp:
        script = Path(tmp) / "job.sh"
        script.write_text(JOB_SCRIPT)
        for backend, url in backends.items():
            env = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
            env["JOBPROBE_DATA_DIR"] = str(Path(tmp) / backend)
            if url:
                env["JOBPROBE_DATABASE_URL"] = url
            print(f"[{backend}] seeding two jobs ...", file=sys.stderr)
            job_id = seed(env, script)
            commands = {
                "python -c pass": [sys.executable, "-c", "pass"],
                "job-history": cli("job-history"),
                "job-details": cli("job-details", job_id),
                "job-stats": cli("job-stats"),
                "logs": cli("logs", job_id),
                "tools": cli("tools"),
            }
            print(
                f"[{backend}] {args.runs} rounds of {len(commands)} commands ...", file=sys.stderr
            )
            rows = summarise(measure(commands, env, args.runs))
            for name, argv in commands.items():
                rows[name]["heavy_imports"] = top_level(heavy_imports(argv, env))
            results["backends"][backend] = rows
    if "postgresql" in backends:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"read commands, {args.runs} runs each (wall seconds; ratio to `python -c pass`)")
    print(f"{'backend':<11}{'command':<16}{'median':>8}{'p90':>8}{'excess':>8}{'ratio':>7}  heavy")
    for backend, rows in results["backends"].items():
        for name, row in rows.items():
            heavy = ",".join(row["heavy_imports"]) or "-"
            print(
                f"{backend:<11}{name:<16}{row['median_s']:8.3f}{row['p90_s']:8.3f}"
                f"{row['excess_s']:8.3f}{row['ratio']:7.2f}  {heavy}"
            )
    for backend, rows in results["backends"].items():
        worst = max((r["median_s"], n) for n, r in rows.items() if n != "python -c pass")
        verdict = "met" if worst[0] <= TARGET_S else "NOT met"
        print(f"{backend}: target {TARGET_S} s {verdict} (slowest: {worst[1]}, {worst[0]:.3f} s)")
    print(f"load average (1 min) at the start: {results['load_average_1m']:.2f}")
    for backend, why in skipped.items():
        print(f"{backend}: skipped ({why})")


if __name__ == "__main__":
    main()
