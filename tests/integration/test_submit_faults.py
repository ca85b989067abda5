"""Clients killed at random moments of ``submit`` (SIGKILL and SIGINT), against a real Redis,
PostgreSQL and worker: a job is either queued for real or not stored, never an orphan.

A client killed between storing its job and sending it leaves a ``queued`` job that
reconciliation sends; the test counts those and runs one reconciliation sweep itself (the
workers' own sweep would do it after ``JOBPROBE_REQUEUE_AFTER``). A Ctrl-C never shows a
traceback; once the job exists its id is on stderr.

Every process a test starts is stopped by its PID.
"""

from __future__ import annotations

import json
import os
import random
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from jobprobe.store.models import Job
from jobprobe.store.status import TERMINAL
from tests import workers
from tests.integration.fault_support import open_store, started
from tests.polling import wait_for

pytestmark = pytest.mark.integration

TRIES = 30
AT_BIRTH = 10


def stored_jobs(store: object, tag: str) -> dict[str, tuple[str, str]]:
    """Job id -> (its try label, status) of this test's jobs."""
    with store.session() as session:  # type: ignore[attr-defined]
        rows = session.execute(sa.select(Job.id, Job.labels, Job.status)).all()
    return {r.id: (r.labels.get("try", ""), str(r.status)) for r in rows
            if r.labels.get("run") == tag}  # fmt: skip


def test_clients_killed_at_random_moments_of_submit_leave_no_orphan(
    redis_url: str, pg_url: str, tmp_path: Path
) -> None:
    seed = int(os.environ.get("JOBPROBE_TEST_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    assert redis_url  # the shared Redis is up (the fixture skips, or fails under CI)
    env = workers.jobprobe_env(workers.isolated_redis_db(), pg_url, data_dir)
    script = tmp_path / "hello.py"
    script.write_text("print('hello')\n")
    worker = workers.WorkerProcess(env, name="wsub", queues="cpu", concurrency=2)
    tag = f"submit-faults-{seed}"
    tries: list[dict[str, object]] = []
    with started(worker), open_store(pg_url) as store:
        for n in range(TRIES + AT_BIRTH):
            # Random moments, then kills the instant the job's id appears (its message is
            # sent right after: the narrowest window, which reconciliation covers).
            at_birth = n >= TRIES
            sig = signal.SIGKILL if at_birth or n % 2 == 0 else signal.SIGINT
            delay = None if at_birth else rng.uniform(0.0, 2.0)
            argv = [sys.executable, str(workers.ROOT / "cli.py"), "submit", "python", str(script),
                    "--label", f"run={tag}", "--label", f"try={n}"]  # fmt: skip
            proc = subprocess.Popen(argv, cwd=workers.ROOT, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)  # fmt: skip
            try:
                head = b""
                if delay is None:
                    head = read_until(proc, b"(queued)", deadline=time.monotonic() + 60)
                    proc.send_signal(sig)
                else:
                    try:
                        proc.wait(timeout=delay)
                    except subprocess.TimeoutExpired:
                        proc.send_signal(sig)
                out, err = proc.communicate(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            tries.append({"try": str(n), "signal": sig.name, "delay": delay,
                          "rc": proc.returncode, "stdout": out.decode(),
                          "stderr": (head + err).decode()})  # fmt: skip

        def ended_by_the_worker() -> bool:
            jobs = stored_jobs(store, tag)
            return all(status in TERMINAL for _, status in jobs.values())

        # What the clients published runs now; what no message will deliver stays queued.
        settle = time.monotonic() + 20
        while time.monotonic() < settle and not ended_by_the_worker():
            time.sleep(0.2)
        orphans_before = sorted(
            j for j, (_, status) in stored_jobs(store, tag).items() if status not in TERMINAL
        )
        republished = reconcile(store, env) if orphans_before else []
        wait_for(ended_by_the_worker, 90, "every stored job ended", context=worker.log)
        jobs = stored_jobs(store, tag)

    early_interrupts: list[str] = []
    by_try: dict[str, list[str]] = {}
    for job_id, (label, _) in jobs.items():
        by_try.setdefault(label, []).append(job_id)
    for t in tries:
        ids = by_try.get(str(t["try"]), [])
        assert len(ids) <= 1, f"one submit stored {len(ids)} jobs: {t}"
        stderr = str(t["stderr"])
        if t["rc"] == -signal.SIGINT and ids and ids[0] in stderr + str(t["stdout"]):
            # Done: the signal came while Python shut down (its default handlers back), perhaps
            # before it flushed stdout (a pipe); the job's id was printed when it was stored.
            t["rc"] = 0
            t["stdout"] = str(t["stdout"]) or ids[0]
        if t["signal"] == "SIGINT" and t["rc"] not in (0, 130):
            # Interrupted before the command ran (Python starting, cli.py importing click, or
            # click loading the command: "Aborted!"): nothing is stored.
            # -2 with nothing said: the signal came before Python had its handler.
            assert not ids, t
            assert stderr.rstrip().endswith(("KeyboardInterrupt", "Aborted!")) or (
                t["rc"] == -signal.SIGINT and not stderr
            ), t
            early_interrupts.append(str(t["try"]))
            continue
        # CPython may lose a Ctrl-C that lands in a weakref callback during an import ("Exception
        # ignored in ..."): the command then simply goes on.
        assert "Traceback" not in stderr or "Exception ignored in" in stderr, t
        if t["signal"] == "SIGINT":
            if ids:  # a stored job's id was printed, with how to follow or cancel it
                assert ids[0] in stderr, t
                if t["rc"] == 130:
                    assert f"jobprobe cancel {ids[0][:8]}" in stderr, t
            elif t["rc"] == 130:  # said by submit, or by cli.py before the command ran
                assert "nothing was submitted" in stderr or not stderr.strip(), t
        if t["rc"] == 0:
            assert ids and ids[0] in str(t["stdout"]), t
    statuses = [status for _, status in jobs.values()]
    assert statuses.count("success") == len(jobs), jobs
    figures = {
        "seed": seed, "tries": TRIES + AT_BIRTH, "killed_at_birth": AT_BIRTH, "jobs_stored": len(jobs), "jobs_ran": statuses.count("success"),
        "not_stored": TRIES + AT_BIRTH - len(jobs),
        "stored_not_sent_by_their_client": len(orphans_before),
        "sent_by_reconciliation": len(republished), "orphans_left": 0,
        "interrupted_130": sum(1 for t in tries if t["rc"] == 130),
        "interrupted_before_the_command": len(early_interrupts),
    }  # fmt: skip
    print(json.dumps(figures))


def read_until(proc: subprocess.Popen[bytes], marker: bytes, deadline: float) -> bytes:
    """What ``proc`` wrote on stderr up to and including ``marker`` (or its end)."""
    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    seen = b""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while marker not in seen and time.monotonic() < deadline:
            if sel.select(timeout=max(0.0, deadline - time.monotonic())):
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                seen += chunk
    return seen


def reconcile(store: object, env: dict[str, str]) -> list[str]:
    """One reconciliation sweep, as the workers run it, publishing with this test's queues."""
    from jobprobe.store import reconciliation
    from jobprobe.tasks import submission
    from jobprobe.worker.app import create_app
    from jobprobe.worker.settings import Settings

    settings = Settings(
        broker_url=env["JOBPROBE_BROKER_URL"], database_url=env["JOBPROBE_DATABASE_URL"],
        queue_cpu=env["JOBPROBE_QUEUE_CPU"], data_dir=Path(env["JOBPROBE_DATA_DIR"]),
    )  # fmt: skip
    app = create_app(settings)
    with store.session() as session:  # type: ignore[attr-defined]
        result = reconciliation.sweep(
            session, max_attempts=3, requeue_after=0.0,
            publish=lambda job_id, queue: submission.publish(app, job_id, queue),
        )  # fmt: skip
    return list(result.republished)


def test_submit_sends_without_importing_the_task_layer_or_the_analysis_stack(
    redis_url: str, pg_url: str, tmp_path: Path
) -> None:
    assert redis_url
    env = workers.jobprobe_env(workers.isolated_redis_db(), pg_url, tmp_path / "data")
    script = tmp_path / "hello.py"
    script.write_text("print('hello')\n")
    argv = [sys.executable, "-X", "importtime", str(workers.ROOT / "cli.py"), "submit", "python",
            str(script), "--json"]  # fmt: skip
    done = subprocess.run(argv, cwd=workers.ROOT, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["status"] == "queued"
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    heavy = ("numpy", "scipy", "matplotlib", "jobprobe.llm", "jobprobe.profiler",
             "jobprobe.tasks.jobs", "jobprobe.tasks.analysis", "jobprobe.tasks.reporting")  # fmt: skip
    loaded = sorted(m for m in imported if m.split(".")[0] in heavy or m.startswith(heavy))
    assert not loaded, loaded
