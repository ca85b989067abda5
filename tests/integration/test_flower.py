"""A real Flower next to a real worker: it sees the worker and a finished job's task."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from jobprobe.worker.app import RUN_SIMULATION
from tests import workers

pytestmark = pytest.mark.integration

T = TypeVar("T")
AUTH = ("flower-test", "a-flower-password-5d1e")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def poll(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.2) -> T:
    """The first non-None answer of ``probe`` within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            answer = probe()
        except httpx.HTTPError as exc:  # Flower not listening yet
            last_error, answer = exc, None
        if answer is not None:
            return answer
        time.sleep(interval)
    raise TimeoutError(f"{what} not seen within {timeout} s (last error: {last_error})")


class FlowerProcess:
    """``celery -A jobprobe.worker.app flower`` on a free loopback port, stopped by PID."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log_path.open("ab")
        self.log_path = log_path
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "jobprobe.worker.app", "flower",
             "--address=127.0.0.1", f"--port={self.port}", f"--basic-auth={AUTH[0]}:{AUTH[1]}"],
            cwd=workers.ROOT, env=env,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()


@pytest.fixture
def flower_cluster(
    redis_url: str, pg_url: str, tmp_path: Path
) -> Iterator[tuple[dict[str, str], workers.WorkerProcess, FlowerProcess]]:
    # jobprobe_env gives this run queue names of its own (no cross-talk on a shared Redis db).
    env = workers.jobprobe_env(workers.isolated_redis_db(redis_url), pg_url, tmp_path / "data")
    # Flower first, so it hears every event of the job from the start.
    flower = FlowerProcess(env, tmp_path / "flower.log")
    worker = workers.WorkerProcess(env, concurrency=1)
    try:
        worker.wait_ready()
        with httpx.Client(base_url=flower.url, timeout=5.0, auth=AUTH) as client:
            poll(
                lambda: True if client.get("/healthcheck").status_code == 200 else None,
                timeout=30,
                what=f"Flower answering on {flower.url}",
            )
        yield env, worker, flower
    finally:
        worker.stop()
        flower.stop()


def test_flower_shows_the_worker_and_a_finished_job(
    flower_cluster: tuple[dict[str, str], workers.WorkerProcess, FlowerProcess], tmp_path: Path
) -> None:
    env, worker, flower = flower_cluster
    script = tmp_path / "hello.py"
    script.write_text("print('hello from flower test')\n")

    queue = env["JOBPROBE_QUEUE_CPU"]
    out = workers.run_cli(
        ["submit", "python", str(script), "--queue", queue, "--wait", "--json"], env
    )
    assert out.returncode == 0, out.stderr
    job_id = json.loads(out.stdout)["task_id"]

    with httpx.Client(base_url=flower.url, timeout=5.0) as anonymous:
        assert anonymous.get("/api/workers").status_code == 401
        assert anonymous.post(f"/api/task/async-apply/{RUN_SIMULATION}", json={}).status_code == 401
    with httpx.Client(base_url=flower.url, timeout=5.0, auth=AUTH) as client:

        def finished_task() -> dict[str, Any] | None:
            tasks = client.get("/api/tasks", params={"taskname": RUN_SIMULATION}).json()
            for uuid, info in tasks.items():
                if job_id in str(info.get("args")) and info.get("state") == "SUCCESS":
                    return {"uuid": uuid, **info}
            return None

        task = poll(finished_task, timeout=30, what=f"job {job_id} as a SUCCESS task in Flower")
        assert task["name"] == RUN_SIMULATION
        assert task["worker"].startswith(worker.name)

        info = client.get(f"/api/task/info/{task['uuid']}")
        assert info.status_code == 200
        detail = info.json()
        assert detail["state"] == "SUCCESS"
        assert job_id in str(detail["args"]) and "'status': 'success'" in str(detail["result"])

        def listed_workers() -> list[str] | None:
            names = list(client.get("/api/workers", params={"refresh": "1"}).json())
            return names if any(n.startswith(f"{worker.name}@") for n in names) else None

        poll(listed_workers, timeout=30, what=f"worker {worker.name} in Flower's /api/workers")

        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert "flower_events_total" in metrics.text
