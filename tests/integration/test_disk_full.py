"""A worker whose data directory is full: the job in hand fails with one clear line, the worker
pauses (``jobprobe workers`` says why), and resumes once there is space again.

The data directory is a 2 MB tmpfs mounted for the test (root only) and unmounted afterwards;
the worker is stopped by its PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import workers
from tests.integration.fault_support import ended, open_store, started
from tests.polling import wait_for

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def tiny_tmpfs(path: Path, size: str = "2m") -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    path.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(path: Path) -> Path:
    """Write a file until the file system is full."""
    filler = path / "filler"
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    with contextlib.suppress(OSError):
        (path / "filler2").write_bytes(b"\0" * 4096)  # the last partial block
    return filler


def workers_json(env: dict[str, str]) -> list[dict[str, Any]]:
    done = workers.run_cli(["workers", "--json", "--timeout", "1"], env, timeout=60)
    return list(json.loads(done.stdout)["workers"]) if done.returncode == 0 else []


def paused(env: dict[str, str]) -> str | None:
    return next((w["paused"] for w in workers_json(env) if w.get("paused")), None)


def test_a_full_data_directory_fails_the_job_pauses_and_resumes_the_worker(
    redis_url: str, pg_url: str, tmp_path: Path
) -> None:
    assert redis_url
    script = tmp_path / "hello.py"
    script.write_text("print('hello')\n")
    with tiny_tmpfs(tmp_path / "data") as data_dir:
        base = workers.jobprobe_env(workers.isolated_redis_db(), pg_url, data_dir)

        def worker(name: str, check_seconds: str) -> workers.WorkerProcess:
            env = {**base, "JOBPROBE_MIN_FREE_MB": "0.5",
                   "JOBPROBE_DISK_CHECK_SECONDS": check_seconds}  # fmt: skip
            return workers.WorkerProcess(env, name=name, queues="cpu",
                                         log_path=tmp_path / f"{name}.log")  # fmt: skip

        def submit() -> str:
            done = workers.run_cli(["submit", "python", str(script), "--json"], base)
            assert done.returncode == 0, done.stderr
            return str(json.loads(done.stdout)["task_id"])

        # 1. The disk fills after the worker's last check: the job it is handed fails with
        #    the reason, and the worker pauses at once (its periodic check is an hour away).
        first = worker("wdisk1", "3600")
        with started(first), open_store(pg_url) as store:
            ok = workers.run_cli(["submit", "python", str(script), "--wait"], base)
            assert ok.returncode == 0, ok.stderr
            filler = fill(data_dir)
            job_id = submit()
            failed = wait_for(lambda: ended(store, job_id), 60, "the job failed",
                              context=first.log)  # fmt: skip
            reason = wait_for(lambda: paused(base), 30, "the worker paused", context=first.log)
            text = workers.run_cli(["workers"], base, timeout=60).stdout
            details = json.loads(
                workers.run_cli(["job-details", job_id, "--json"], base, timeout=60).stdout
            )
            log1 = first.log()

        # 2. A worker started on a full disk takes nothing until there is space again.
        second = worker("wdisk2", "0.5")
        with started(second), open_store(pg_url) as store:
            wait_for(lambda: paused(base), 30, "the new worker paused", context=second.log)
            queued_id = submit()
            assert ended(store, queued_id) is None
            filler.unlink()
            with contextlib.suppress(FileNotFoundError):
                (data_dir / "filler2").unlink()
            wait_for(lambda: paused(base) is None, 30, "the worker resumed", context=second.log)
            after = wait_for(lambda: ended(store, queued_id), 60, "the queued job ran",
                             context=second.log)  # fmt: skip
            log2 = second.log()

    assert failed.status == "failed"
    error = details["error"]
    assert error.startswith(f"data directory {data_dir} is full (") and error.endswith(
        "MB free); free space or set JOBPROBE_DATA_DIR"
    ), error
    assert reason.startswith(f"data directory {data_dir} is full"), reason
    assert "is paused, takes no jobs: data directory" in text, text
    assert "worker paused, takes no jobs" in log1
    assert "worker paused, takes no jobs" in log2 and "worker resumed" in log2
    assert after.status == "success"
    print(json.dumps({"error": error, "paused": reason}))
