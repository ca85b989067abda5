"""Faults with real parts: a worker killed mid-job, Redis restarted, PostgreSQL down at the end.

Every process a test starts (workers, a private redis-server, a private PostgreSQL) is stopped
by its PID or data directory. Each test has its own redis-server; the system cluster (5432) is
only used through fresh databases, and never stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from jobprobe.store import jobs as store_jobs
from jobprobe.store import samples as store_samples
from jobprobe.store.db import Store
from jobprobe.store.reports import reports_for_job
from jobprobe.store.status import TERMINAL
from tests import services, workers
from tests.polling import wait_for

pytestmark = pytest.mark.integration


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
        history = [e.status for e in store_jobs.status_history(session, job_id)]
        series = store_samples.load_timeseries(session, job_id)
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
        found = [r for r in reports_for_job(session, job_id) if r["kind"] == "job"]
    return found or None


def ended(store: Store, job_id: str) -> JobView | None:
    v = view(store, job_id)
    return v if v.status in TERMINAL else None


@pytest.fixture
def job_script(tmp_path: Path) -> Path:
    path = tmp_path / "busy.py"
    path.write_text(JOB_SCRIPT)
    return path


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


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A broker no other test shares: ``isolated_redis_db`` numbers can collide between
    sessions running tests at once (one flushes or consumes the other's queue)."""
    redis = PrivateRedis(tmp_path / "redis.log")
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


# ---------------------------------------------------------------- worker killed mid-job


def test_worker_killed_mid_job_is_redelivered_to_another_worker(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    # The job (2 s) is shorter than the visibility timeout (4 s): healthy runs never repeat.
    env = workers.jobprobe_env(
        private_redis.url, pg_url, tmp_path / "data", JOBPROBE_VISIBILITY_TIMEOUT="4"
    )
    a = workers.WorkerProcess(env, name="wa", queues="cpu")
    b = workers.WorkerProcess(env, name="wb", queues="cpu")
    pidfile = tmp_path / "pids"
    with started(a, b), open_store(pg_url) as store:
        job_id = submit(env, job_script, pidfile, seconds=2.0)
        first = wait_for(lambda: running_with_samples(store, job_id), 30, "the job running")
        assert first.worker is not None
        victim, survivor = (a, b) if first.worker.startswith("wa@") else (b, a)
        victim.kill(signal.SIGKILL)
        killed_at = time.monotonic()
        samples_before_kill = first.sample_attempts.count(1)

        orphan = int(wait_for(lambda: pidfile.read_text().split(), 5, "the job's pid")[0])
        wait_for(lambda: process_gone(orphan), 10, f"the orphaned job process {orphan} to die")

        def second_running() -> JobView | None:
            v = view(store, job_id)
            return v if v.attempts >= 2 else None

        wait_for(second_running, 60, "the job to be delivered again")
        redelivery_s = time.monotonic() - killed_at
        done = wait_for(lambda: ended(store, job_id), 30, "the end")
        print(f"redelivery after SIGKILL: {redelivery_s:.1f} s")

    assert done.status == "success", done
    assert done.attempts == 2
    assert done.history == ["queued", "running", "running", "success"]
    assert done.worker is not None and done.worker.startswith(survivor.name + "@")
    # The samples stored before the kill are kept, beside those of the second run.
    assert done.sample_attempts.count(1) >= samples_before_kill >= 1
    assert done.sample_attempts.count(2) >= 1
    assert len(pidfile.read_text().split()) == 2


def test_past_its_attempts_a_killed_job_ends_lost(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    env = workers.jobprobe_env(
        private_redis.url, pg_url, tmp_path / "data",
        JOBPROBE_VISIBILITY_TIMEOUT="3", JOBPROBE_MAX_ATTEMPTS="1",
    )  # fmt: skip
    first_worker = workers.WorkerProcess(env, name="wfirst", queues="cpu")
    pidfile = tmp_path / "pids"
    with open_store(pg_url) as store:
        with started(first_worker):
            job_id = submit(env, job_script, pidfile, seconds=2.0)
            running = wait_for(lambda: running_with_samples(store, job_id), 30, "the job running")
            first_worker.kill(signal.SIGKILL)
        samples_before_kill = running.sample_attempts.count(1)
        second_worker = workers.WorkerProcess(env, name="wsecond", queues="cpu")
        with started(second_worker):
            done = wait_for(
                lambda: ended(store, job_id),
                60,
                "the redelivered job to end",
            )

    assert done.status == "lost", done
    assert done.history == ["queued", "running", "lost"]
    assert done.error is not None and "worker lost" in done.error
    assert done.attempts == 1
    assert done.sample_attempts.count(1) >= samples_before_kill >= 1
    assert len(pidfile.read_text().split()) == 1  # it never ran a second time


# ---------------------------------------------------------------- Redis restarted


def test_worker_reconnects_after_redis_restarts(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    env = workers.jobprobe_env(private_redis.url, pg_url, tmp_path / "data")
    worker = workers.WorkerProcess(env, name="wredis", queues="cpu")
    with started(worker):
        private_redis.stop()
        private_redis.start()  # same port, empty: the worker must reconnect by itself
        t0 = time.monotonic()
        out = workers.run_cli(
            ["submit", "python", str(job_script), "--param", f"pidfile={tmp_path / 'pids'}",
             "--param", "seconds=0.3", "--wait", "--json"],
            env, timeout=90,
        )  # fmt: skip
        print(f"job after Redis restart ended in {time.monotonic() - t0:.1f} s")
        assert worker.proc.poll() is None, worker.log()[-3000:]
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    assert rec["status"] == "success" and rec["worker"].startswith("wredis@")


def test_redis_down_when_a_job_ends_keeps_the_outcome_and_says_what_was_skipped(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    env = workers.jobprobe_env(private_redis.url, pg_url, tmp_path / "data")
    worker = workers.WorkerProcess(env, name="wnobroker", queues="cpu")
    with started(worker), open_store(pg_url) as store:
        # Long enough to outlast the wait for its first samples on a busy machine.
        job_id = submit(env, job_script, tmp_path / "pids", seconds=4.0)
        wait_for(lambda: running_with_samples(store, job_id), 30, "the job running")
        private_redis.stop()  # the job ends while the broker is gone
        done = wait_for(lambda: ended(store, job_id), 30, "the job's end")
        wait_for(
            lambda: "analysis was not queued" in worker.log(),
            30,
            "the worker's warning",
            context=worker.log,
        )
        log = worker.log()
        private_redis.start()  # the fixture stops it again
    assert done.status == "success", done
    warning = next(line for line in log.splitlines() if "analysis was not queued" in line)
    assert job_id in warning and f"jobprobe report {job_id}" in warning
    # The job task itself succeeded: it ran and recorded the job; only the follow-up is missing.
    assert "raised unexpected" not in log, log[-3000:]


# ---------------------------------------------------------------- PostgreSQL down


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


@pytest.fixture
def private_pg() -> Iterator[tuple[PrivatePostgres, str]]:
    """A private PostgreSQL, started, with a database ``jobprobe``: (server, URL)."""
    pg = PrivatePostgres()
    try:
        pg.start()
        yield pg, pg.create_database("jobprobe")
    finally:
        pg.remove()


def test_postgres_down_when_a_job_ends_spools_and_replays(
    private_redis: PrivateRedis,
    private_pg: tuple[PrivatePostgres, str],
    tmp_path: Path,
    job_script: Path,
) -> None:
    pg, db_url = private_pg
    data_dir = tmp_path / "data"
    env = workers.jobprobe_env(private_redis.url, db_url, data_dir)
    # The worker runs the analyses too: a job's report must wait for its outcome's replay.
    worker = workers.WorkerProcess(env, name="wpg", queues="cpu,analysis")
    spooled = data_dir / "spool"
    with started(worker), open_store(db_url) as store:
        job_id = submit(env, job_script, tmp_path / "pids", seconds=3.0)
        wait_for(lambda: running_with_samples(store, job_id), 30, "the job running")
        store.dispose()
        pg.stop()
        spool_file = spooled / f"{job_id}.json"
        wait_for(spool_file.is_file, 30, f"the outcome spooled at {spool_file}", context=worker.log)
        assert worker.proc.poll() is None, "the worker died with the database"
        payload = json.loads(spool_file.read_text())
        assert payload["outcome"]["status"] == "success"

        pg.start()
        # The next job's delivery replays the spool first (beat does it every minute too).
        second = submit(env, job_script, tmp_path / "pids2", seconds=0.2)
        after = wait_for(lambda: ended(store, second), 60, "the next job", context=worker.log)
        assert after.status == "success", worker.log()[-3000:]
        assert not list(spooled.glob("*.json")), "the spool was not emptied"
        rec = json.loads(workers.run_cli(["job-details", job_id, "--json"], env, timeout=60).stdout)
        stored = view(store, job_id).sample_attempts
        reports = wait_for(
            lambda: job_reports(store, job_id), 60, "the job's report", context=worker.log
        )

    assert rec["status"] == "success" and rec["returncode"] == 0
    assert [e["status"] for e in rec["status_history"]] == ["queued", "running", "success"]
    # One report, written after the replay: of the finished job, not of a running one.
    assert len(reports) == 1 and reports[0]["body"]["status"] == "success", reports
    assert rec["duration_seconds"] >= 3.0 and rec["resource_usage"]["cpu_total_seconds"] > 0.3
    profile = rec["detailed_profile"]
    print(f"samples: collected {profile['samples_collected']}, stored {len(stored)}, "
          f"of which spooled {len(payload['samples'])}")  # fmt: skip
    assert profile and profile["samples_collected"] >= 4
    # Nothing lost: samples flushed before the outage plus those spooled are all stored.
    assert len(stored) >= profile["samples_collected"], (len(stored), profile)
    assert len(stored) >= len(payload["samples"]) >= 1


def test_postgres_down_when_a_job_is_claimed_retries_until_it_is_back(
    private_redis: PrivateRedis, private_pg: tuple[PrivatePostgres, str], tmp_path: Path
) -> None:
    from jobprobe.tasks import submission
    from jobprobe.worker.app import RUN_SIMULATION, create_app
    from jobprobe.worker.settings import load_settings

    pg, db_url = private_pg
    data_dir = tmp_path / "data"
    env = workers.jobprobe_env(private_redis.url, db_url, data_dir)
    settings = load_settings(
        broker_url=private_redis.url, database_url=db_url, data_dir=data_dir,
        queue_cpu=env["JOBPROBE_QUEUE_CPU"],
    )  # fmt: skip
    script = tmp_path / "quick.sh"
    script.write_text("echo claimed\n")
    job_id = submission.create("bash", script, settings=settings)  # stored while the DB is up
    pg.stop()
    app = create_app(settings)
    app.send_task(RUN_SIMULATION, args=[job_id], queue=settings.queue_cpu)
    worker = workers.WorkerProcess(env, name="wclaim", queues="cpu")
    with started(worker):
        wait_for(
            lambda: "Retry in" in worker.log(),
            30,
            "the claim to be retried",
            context=worker.log,
        )
        pg.start()
        with open_store(db_url) as store:
            done = wait_for(
                lambda: ended(store, job_id),
                90,
                "the job after the DB returned",
                context=worker.log,
            )
    assert done.status == "success"


def test_postgres_down_when_a_job_is_analysed_retries_until_it_is_back(
    private_redis: PrivateRedis,
    private_pg: tuple[PrivatePostgres, str],
    tmp_path: Path,
    job_script: Path,
) -> None:
    pg, db_url = private_pg
    env = workers.jobprobe_env(private_redis.url, db_url, tmp_path / "data")
    runner = workers.WorkerProcess(env, name="wrun", queues="cpu")
    with started(runner), open_store(db_url) as store:
        job_id = submit(env, job_script, tmp_path / "pids", seconds=0.3)
        done = wait_for(lambda: ended(store, job_id), 60, "the job", context=runner.log)
    assert done.status == "success"
    pg.stop()  # the job's analysis is queued; no worker has taken it yet
    analyst = workers.WorkerProcess(env, name="wanalysis", queues="analysis")
    with started(analyst):
        wait_for(
            lambda: "Retry in" in analyst.log(), 30, "the analysis to be retried",
            context=analyst.log,
        )  # fmt: skip
        pg.start()
        with open_store(db_url) as store:
            reports = wait_for(
                lambda: job_reports(store, job_id), 90, "the report after the DB returned",
                context=analyst.log,
            )  # fmt: skip
    assert len(reports) == 1 and reports[0]["body"]["status"] == "success", reports


# ---------------------------------------------------------------- delivered again after its end


def test_an_ended_job_delivered_again_gets_its_one_report(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path, job_script: Path
) -> None:
    import redis

    from jobprobe.worker.app import RUN_SIMULATION, create_app
    from jobprobe.worker.settings import load_settings

    env = workers.jobprobe_env(private_redis.url, pg_url, tmp_path / "data")
    settings = load_settings(
        broker_url=private_redis.url, database_url=pg_url, data_dir=tmp_path / "data",
        queue_cpu=env["JOBPROBE_QUEUE_CPU"], queue_analysis=env["JOBPROBE_QUEUE_ANALYSIS"],
    )  # fmt: skip
    broker = redis.Redis.from_url(private_redis.url)
    analyses = settings.queue_analysis  # kombu's list of the queue's messages
    pidfile = tmp_path / "pids"
    runner = workers.WorkerProcess(env, name="wrun", queues="cpu")
    with started(runner), open_store(pg_url) as store:
        job_id = submit(env, job_script, pidfile, seconds=0.2)
        wait_for(lambda: ended(store, job_id), 60, "the job", context=runner.log)
        wait_for(lambda: broker.llen(analyses) == 1, 30, "its analysis queued")
        broker.delete(analyses)  # lost with a worker killed between the commit and the ack
        create_app(settings).send_task(RUN_SIMULATION, args=[job_id], queue=settings.queue_cpu)
        wait_for(
            lambda: broker.llen(analyses) == 1, 30, "the analysis queued again",
            context=runner.log,
        )  # fmt: skip
    analyst = workers.WorkerProcess(env, name="wanalysis", queues="analysis")
    with started(analyst), open_store(pg_url) as store:
        reports = wait_for(
            lambda: job_reports(store, job_id), 60, "the report", context=analyst.log
        )
        done = view(store, job_id)
    broker.close()
    assert len(reports) == 1 and reports[0]["body"]["status"] == "success", reports
    assert done.attempts == 1 and len(pidfile.read_text().split()) == 1  # it never ran twice
