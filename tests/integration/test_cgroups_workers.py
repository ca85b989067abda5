"""Per-job groups with real Celery worker processes: a worker SIGKILLed mid-job leaves nothing
running, a restarted worker removes its dead predecessor's groups, limits from submit reach the
job. Needs Redis, PostgreSQL and a writable cgroup hierarchy (skips elsewhere, fails under CI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobprobe.monitor import cgroups
from tests import workers
from tests.integration import cgroup_support as cs
from tests.polling import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def setup(
    redis_url: str, pg_url: str, tmp_path: Path
) -> Iterator[tuple[dict[str, str], cgroups.Cgroups]]:
    with cs.test_parent("workers") as manager:
        env = workers.jobprobe_env(
            workers.isolated_redis_db(), pg_url, tmp_path / "data",
            JOBPROBE_CGROUP_PARENT=manager.parent,
        )  # fmt: skip
        yield env, manager


DAEMON = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        open(os.path.join(os.environ['SIM_MARKS'], f'pid-{os.getpid()}'), 'w').write(str(os.getpid()))
        while True:
            time.sleep(1)
    os._exit(0)
time.sleep(300)
"""


def test_a_sigkilled_worker_takes_its_jobs_escaped_processes_with_it(
    setup: tuple[dict[str, str], cgroups.Cgroups], tmp_path: Path
) -> None:
    env, manager = setup
    marks = tmp_path / "marks"
    marks.mkdir()
    script = tmp_path / "daemon.py"
    script.write_text(DAEMON)
    worker = workers.WorkerProcess(env, concurrency=1)
    daemon: list[int] = []
    try:
        worker.wait_ready()
        # A job's environment is its own (the worker's is never passed on): a parameter.
        out = workers.run_cli(
            ["submit", "python", str(script), "--param", f"marks={marks}", "--json"], env
        )
        assert out.returncode == 0, out.stderr
        daemon = wait_for(lambda: cs.pids_in(marks), 30, "the job's daemon", context=worker.log)
        assert cs.alive(daemon[0]) and cs.job_dirs(manager)
        worker.kill()  # SIGKILL, the main process and its pool child
        worker.proc.wait(10)
        wait_for(lambda: not cs.alive(daemon[0]), 10, "the daemon to die with its worker")
        wait_for(lambda: not cs.job_dirs(manager), 10, "the job's group to be removed")
    finally:
        worker.stop()
        cs.kill_leftovers(daemon)


STALE = """
import subprocess, sys
from jobprobe.monitor import cgroups
group = cgroups.Cgroups(sys.argv[1]).create("0123abcd", 1)
sleeper = subprocess.Popen(["sh", "-c", 'for f; do echo $$ > "$f"; done; exec sleep 300', "sh",
                            *map(str, group.join_files)], start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(sleeper.pid)
"""


def test_a_restarted_worker_removes_the_groups_its_predecessor_left(
    setup: tuple[dict[str, str], cgroups.Cgroups],
) -> None:
    env, manager = setup
    # A "worker" that made a group, started a job in it and vanished without a guard.
    made = subprocess.run(
        [sys.executable, "-c", STALE, manager.parent], cwd=workers.ROOT, capture_output=True,
        text=True, timeout=30, check=True,
    )  # fmt: skip
    sleeper = int(made.stdout.split()[-1])
    try:
        wait_for(lambda: cs.alive(sleeper), 5, "the stale job's process")
        assert {d.name for d in cs.job_dirs(manager)} == {"job-0123abcd-1"}
        worker = workers.WorkerProcess(env, concurrency=1)
        try:
            worker.wait_ready()
            wait_for(
                lambda: not cs.alive(sleeper), 10, "the stale job to be killed", context=worker.log
            )
            wait_for(lambda: not cs.job_dirs(manager), 10, "the stale group to be removed")
        finally:
            worker.stop()
    finally:
        cs.kill_leftovers([sleeper])


def test_limits_from_submit_reach_a_distributed_job(
    setup: tuple[dict[str, str], cgroups.Cgroups], tmp_path: Path
) -> None:
    env, _ = setup
    script = tmp_path / "hog.py"
    script.write_text("blocks = [bytearray(1 << 20) for _ in range(300)]\n")
    worker = workers.WorkerProcess(env, concurrency=1)
    try:
        worker.wait_ready()
        out = workers.run_cli(
            [
                "submit",
                "python",
                str(script),
                "--mem",
                "64M",
                "--max-procs",
                "8",
                "--wait",
                "--json",
            ],
            env,
        )
        rec = json.loads(out.stdout)
        assert rec["status"] == "failed" and rec["error"].startswith("oom"), rec["error"]
        assert rec["limits"] == {
            "mem_bytes": 64 << 20, "mem_mb": 64.0, "cpus": None, "max_procs": 8, "applied": True,
            "reason": None,
        }  # fmt: skip
        assert rec["accounting"] == "cgroup-v1" and rec["leaked_processes"] == 0
        assert rec["resource_usage"]["memory_peak_mb"] <= 64.5
        bad = workers.run_cli(["submit", "python", str(script), "--mem", "4X"], env)
        assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    finally:
        worker.stop()
    assert os.environ.get("JOBPROBE_CGROUP_PARENT") is None  # the suite's own env is untouched
