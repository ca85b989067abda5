"""Real Celery worker processes for integration tests, started and stopped by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


QUEUES = ("cpu", "gpu", "iss", "analysis")
#: The suite's jobs run as the worker's own user unless a test names the account (this
#: machine's Python is where an unprivileged account cannot run it; tests/conftest.py).
JOB_USER = {"JOBPROBE_JOB_USER": "worker"}


def jobprobe_env(
    broker_url: str, database_url: str, data_dir: Path, **extra: str
) -> dict[str, str]:
    """The environment of a worker or CLI process in distributed mode.

    Queue names get a suffix unique to this call, so test runs that share a Redis database
    never take each other's tasks.
    """
    suffix = uuid.uuid4().hex[:8]
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
    env.update({f"JOBPROBE_QUEUE_{q.upper()}": f"{q}-{suffix}" for q in QUEUES})
    env.update(
        JOBPROBE_BROKER_URL=broker_url,
        JOBPROBE_DATABASE_URL=database_url,
        JOBPROBE_DATA_DIR=str(data_dir),
        JOBPROBE_SAMPLE_FLUSH_SECONDS="0.5",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def isolated_redis_db(base: str = "redis://127.0.0.1:6379") -> str:
    """A Redis URL on one of databases 1-15, picked at random (never the default 0).

    Nothing is flushed: the unique queue names of ``jobprobe_env`` keep runs apart.
    """
    return f"{base}/{1 + uuid.uuid4().int % 15}"


class WorkerProcess:
    """``celery -A jobprobe.worker.app worker`` as a subprocess in its own process group."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        name: str | None = None,
        queues: str = "cpu,gpu,iss,analysis",
        concurrency: int = 1,
        pool: str = "prefork",
        log_path: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.name = name or f"w{uuid.uuid4().hex[:6]}"
        self.env = JOB_USER | dict(env)
        # Logical queue names (cpu, iss, ...) become this environment's real ones.
        queues = ",".join(self.env.get(f"JOBPROBE_QUEUE_{q.upper()}", q) for q in queues.split(","))
        self.log_path = log_path or Path(self.env["JOBPROBE_DATA_DIR"]) / f"{self.name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable, "-m", "celery", "-A", "jobprobe.worker.app", "worker", "-l", "INFO",
            "-n", f"{self.name}@%h", "-Q", queues, "-c", str(concurrency), "-P", pool,
            "--without-mingle", "--without-gossip", *extra_args,
        ]  # fmt: skip
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until the worker logs that it is ready (or fail with its log)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited early:\n{self.log()}")
            if " ready." in self.log():
                return
            time.sleep(0.1)
        raise TimeoutError(f"worker {self.name} not ready after {timeout} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the worker's whole process group (main process and pool children)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 20.0) -> None:
        """Warm shutdown (SIGTERM); SIGKILL if it does not exit in time."""
        if self.proc.poll() is None:
            self.kill(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.proc.wait(10)
        else:
            self.kill(signal.SIGKILL)  # stray pool children, if any
        self._log.close()


def run_cli(
    args: list[str], env: Mapping[str, str], timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run ``python cli.py ARGS`` as a user would."""
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args], cwd=ROOT, env=JOB_USER | dict(env),
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
