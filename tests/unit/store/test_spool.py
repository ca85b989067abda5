"""The spool never blocks: an entry the store refuses for good is set aside with its reason and
its job failed, while the others are written; two replayers (real processes) of one spool
write each outcome once. On both backends (SQLite and the real PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from jobprobe.monitor import recorder
from jobprobe.store import attempts, job_reads, records
from jobprobe.store import jobs as store_jobs
from jobprobe.store.db import Store
from jobprobe.store.spool import Spool

ROOT = Path(__file__).resolve().parents[3]

REPLAYER = """
import sys
from pathlib import Path
from jobprobe.monitor import recorder
from jobprobe.store.db import Store
from jobprobe.store.spool import Spool

store = Store(sys.argv[1])
go = Path(sys.argv[3])
while not go.exists():  # both replayers start together
    pass
written = []
recorder.replay_spool(store, Spool(Path(sys.argv[2])), on_replayed=written.append)
print("\\n".join(written))
"""


def running_jobs(store: Store, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        with store.session() as session:
            job_id = store_jobs.create_job(session, tool="python", queue="cpu").id
        with store.transaction() as conn:
            assert attempts.begin_attempt(conn, job_id, worker="w@host", max_attempts=3)
        ids.append(job_id)
    return ids


def spooled(job_id: str, **outcome: object) -> dict[str, object]:
    out = {"status": "success", "returncode": 0, "duration_s": 1.0, **outcome}
    return {"outcome": out, "attempt": 1, "samples": [], "ran": True}


def test_a_poisoned_entry_is_set_aside_and_its_job_failed(store: Store, tmp_path: Path) -> None:
    good1, bad, good2 = running_jobs(store, 3)
    spool = Spool(tmp_path / "spool")
    spool.put(good1, spooled(good1))
    spool.put(bad, spooled(bad, status="no-such-status"))  # never writable
    spool.put(good2, spooled(good2, stdout_tail="a\x00b"))  # made storable when spooled
    (spool.directory / "garbage.json").write_text("{not json")  # a truncated copy by hand

    assert recorder.replay_spool(store, spool) == 3
    assert spool.pending() == []
    aside = {p.name for p in spool.set_aside()}
    assert aside == {f"{bad}.json", "garbage.json"}
    reason = (spool.failed_dir / f"{bad}.json.reason").read_text()
    assert "no-such-status" in reason
    with store.session() as session:
        recs = {j: records.load_record(session, j, events=True) for j in (good1, bad, good2)}
    assert recs[good1]["status"] == "success"
    assert recs[good2]["status"] == "success"
    assert recs[good2]["logs"]["stdout_tail"] == "a\u2400b"
    assert recs[bad]["status"] == "failed"
    assert "no-such-status" in recs[bad]["error"]


def test_two_replayers_write_each_outcome_once(store: Store, tmp_path: Path) -> None:
    jobs = running_jobs(store, 40)
    spool = Spool(tmp_path / "spool")
    for job_id in jobs:
        spool.put(job_id, spooled(job_id))
    script = tmp_path / "replayer.py"
    script.write_text(REPLAYER)
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, str(script), str(store.engine.url.render_as_string(False)),
            str(spool.directory), str(go)]  # fmt: skip
    procs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    try:
        go.touch()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    written = [line for out, _ in outputs for line in out.split()]
    assert sorted(written) == sorted(jobs), "an outcome written twice or not at all"
    assert spool.pending() == [] and spool.set_aside() == []
    assert not list(spool.directory.iterdir())  # no claim left behind
    with store.reader() as reader:
        for job_id in jobs:
            history = job_reads.status_history(reader, job_id)
            assert [e["status"] for e in history].count("success") == 1
    print(json.dumps({"replayers": 2, "outcomes": len(jobs), "written": len(written),
                      "per_replayer": [len(o.split()) for o, _ in outputs]}))  # fmt: skip
