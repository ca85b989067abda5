"""What the fault tests share: private redis-server and PostgreSQL instances (stopped by
PID or data directory), the job script that records its runs, and store look-ups."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from jobprobe.store import job_reads, reading, sample_reads
from jobprobe.store import jobs as store_jobs
from jobprobe.store.db import Store
from jobprobe.store.report_reads import reports_for_job
from jobprobe.store.status import TERMINAL
from tests import services, workers
from tests.polling import wait_for


def _newest_pg_bin() -> Path:
    """The newest installed PostgreSQL server's bin folder (Debian layout)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return found[-1] if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _newest_pg_bin()

# Busy for SIM_SECONDS; appends its pid to SIM_PIDFILE first (one line per attempt).
JOB_SCRIPT = """\
import os, time
with open(os.environ["SIM_PIDFILE"], "a") as fh:
    fh.write(f"{os.getpid()}\\n")
end = time.monotonic() + float(os.environ["SIM_SECONDS"])
while time.monotonic() < end:
    pass
print("done")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def process_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (a zombie waiting for init counts as gone)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@contextmanager
def open_store(url: str) -> Iterator[Store]:
    store = Store(url)
    try:
        yield store
    finally:
        store.dispose()


@dataclass
class JobView:
    """What a test reads back about one job."""

    status: str
    attempts: int
    worker: str | None
    error: str | None
    history: list[str]
    sample_attempts: list[int]


def view(store: Store, job_id: str) -> JobView:
    with store.session() as session:
        job = store_jobs.get_job(session, job_id)
        reader = reading.from_session(session)
        history = [e["status"] for e in job_reads.status_history(reader, job_id)]
        series = sample_reads.load_timeseries(reader, job_id)
        return JobView(
            job.status, job.attempts, job.worker, job.error, history, list(series["attempt"])
        )


def submit(env: dict[str, str], script: Path, pidfile: Path, seconds: float) -> str:
    """Queue the busy job through the CLI; returns its id."""
    out = workers.run_cli(
        ["submit", "python", str(script), "--param", f"pidfile={pidfile}",
         "--param", f"seconds={seconds}", "--json"],
        env, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    job_id: str = json.loads(out.stdout)["task_id"]
    return job_id


def running_with_samples(store: Store, job_id: str) -> JobView | None:
    v = view(store, job_id)
    return v if v.status == "running" and v.sample_attempts else None


def job_reports(store: Store, job_id: str) -> list[dict[str, Any]] | None:
    """The job's stored job reports; None while it has none."""
    with store.session() as session:
        found = [
            r for r in reports_for_job(reading.from_session(session), job_id) if r["kind"] == "job"
        ]
    return found or None


def ended(store: Store, job_id: str) -> JobView | None:
    v = view(store, job_id)
    return v if v.status in TERMINAL else None


@contextmanager
def started(*procs: workers.WorkerProcess) -> Iterator[None]:
    try:
        for proc in procs:
            proc.wait_ready()
        yield
    finally:
        for proc in procs:
            proc.stop()


class PrivateRedis:
    """A redis-server of this test's own on a free port, started and stopped by PID."""

    def __init__(self, log_path: Path) -> None:
        if shutil.which("redis-server") is None:
            services.unavailable("redis-server is not installed")
        self.port = free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--daemonize", "no"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for(lambda: services.port_open("127.0.0.1", self.port), 10, "redis-server to listen")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


class PrivatePostgres:
    """A PostgreSQL instance of this test's own (initdb in a temporary directory)."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").is_file():
            services.unavailable(f"PostgreSQL server binaries not found in {PG_BIN}")
        if os.geteuid() != 0 or shutil.which("runuser") is None:
            services.unavailable("a private PostgreSQL needs root (to run initdb as postgres)")
        self.port = free_port()
        # Not under pytest's tmp_path: the postgres user cannot enter root's 0700 folders.
        self.root = Path(tempfile.mkdtemp(prefix="jobprobe-pg-"))
        self.data = self.root / "data"
        shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres(PG_BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres")

    def _as_postgres(self, *argv: object) -> None:
        out = subprocess.run(
            ["runuser", "-u", "postgres", "--", *map(str, argv)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert out.returncode == 0, out.stdout + out.stderr

    def start(self) -> None:
        opts = f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            PG_BIN / "pg_ctl", "-D", self.data, "-o", opts, "-l", self.root / "pg.log",
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self, name: str) -> str:
        import psycopg

        dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def remove(self) -> None:
        if self.running():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
