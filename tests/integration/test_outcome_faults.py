"""Every outcome can be written, with real parts: jobs that print NUL bytes and bytes that are
not UTF-8, write NaN and NUL into their metrics and leave files whose names are not UTF-8, on a
private PostgreSQL that is up, then down, when they end. Every job ends, the worker keeps
working, and a spool entry that can never be written is set aside without blocking the rest.

Every process a test starts is stopped by its PID or data directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobprobe.store import records, storable
from tests import workers
from tests.integration.fault_support import (
    PrivatePostgres,
    PrivateRedis,
    ended,
    open_store,
    running_with_samples,
    started,
)
from tests.polling import wait_for

pytestmark = pytest.mark.integration

NASTY = r"""
import os, sys, time
sys.stdout.buffer.write(b"nul\x00 and bad \xff\xfe utf-8\n")
sys.stdout.flush()
sys.stderr.buffer.write(b"err\x00 \xc3\n")
open(b"bad-\xff-name.dat", "wb").write(b"x")
with open(os.environ["JOBPROBE_METRICS_FILE"], "wb") as fh:
    fh.write(b'{"loss": NaN, "best": -Infinity, "label": "a\\u0000b", "raw": "caf\xe9"}')
end = time.monotonic() + float(os.environ["SIM_SECONDS"])
while time.monotonic() < end:
    pass
"""


def submit(env: dict[str, str], script: Path, seconds: float) -> str:
    done = workers.run_cli(
        ["submit", "python", str(script), "--param", f"seconds={seconds}", "--json"],
        env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["task_id"])


def check_record(rec: dict[str, object]) -> None:
    assert rec["status"] == "success", rec.get("error")
    logs = rec["logs"]
    assert isinstance(logs, dict)
    assert logs["stdout_tail"] == "nul\u2400 and bad \\xff\\xfe utf-8\n"
    assert logs["stderr_tail"] == "err\u2400 \\xc3\n"
    metrics = rec["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["loss"] is None and metrics["best"] is None
    assert metrics["label"] == "a\u2400b" and metrics["raw"] == "caf\\xe9"
    assert metrics[storable.NON_FINITE_KEY] == ["best", "loss"]
    artifacts = rec["artifacts"]
    assert isinstance(artifacts, list)
    assert "bad-\\xff-name.dat" in [a["path"] for a in artifacts]


def test_nasty_outcomes_with_the_database_up_and_down_at_the_end(
    private_redis: PrivateRedis, private_pg: tuple[PrivatePostgres, str], tmp_path: Path
) -> None:
    pg, db_url = private_pg
    data_dir = tmp_path / "data"
    env = workers.jobprobe_env(private_redis.url, db_url, data_dir)
    script = tmp_path / "nasty.py"
    script.write_text(NASTY)
    spool = data_dir / "spool"
    worker = workers.WorkerProcess(env, name="wout", queues="cpu")
    with started(worker), open_store(db_url) as store:
        # Up: stored at once.
        up = [submit(env, script, 0.1) for _ in range(3)]
        wait_for(lambda: all(ended(store, j) for j in up), 60, "the jobs ended",
                 context=worker.log)  # fmt: skip

        # Down when it ends: spooled (made storable), then written on the next delivery.
        down = submit(env, script, 3.0)
        wait_for(lambda: running_with_samples(store, down), 30, "the job running")
        store.dispose()
        pg.stop()
        spooled = spool / f"{down}.json"
        wait_for(spooled.is_file, 30, f"the outcome spooled at {spooled}", context=worker.log)
        assert worker.proc.poll() is None, "the worker died with the database"
        # An entry that can never be written (a truncated copy, a foreign file) must not block.
        (spool / "not-a-job.json").write_text("{truncated")
        pg.start()

        after = submit(env, script, 0.1)
        wait_for(lambda: ended(store, after), 90, "the next job", context=worker.log)
        wait_for(lambda: ended(store, down), 30, "the spooled job", context=worker.log)
        with store.session() as session:
            recs = {j: records.load_record(session, j, events=True) for j in [*up, down, after]}
        left = sorted(p.name for p in spool.glob("*.json"))
        aside = sorted(p.name for p in (spool / "failed").glob("*.json"))
        alive = worker.proc.poll() is None

    for rec in recs.values():
        check_record(rec)
    history = [e["status"] for e in recs[down]["status_history"]]
    assert history.count("success") == 1, history
    assert left == [] and aside == ["not-a-job.json"], (left, aside)
    assert alive, "the worker stopped"
    print(json.dumps({"jobs": len(recs), "ended": sum(r["status"] == "success" for r in recs.values()),
                      "spooled_and_replayed": 1, "set_aside": aside}))  # fmt: skip
