"""Every outcome can be written: what a job produced (NUL bytes, bytes that are not UTF-8,
NaN and Infinity in its metrics, file names that are not UTF-8) is stored on both backends
(SQLite and the real PostgreSQL) without losing what it said, and an outcome the store still
refuses ends the job ``failed`` with the reason."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from jobprobe.monitor import outcome, recorder
from jobprobe.store import attempts, records, storable
from jobprobe.store import jobs as store_jobs
from jobprobe.store.db import Store
from jobprobe.store.spool import Spool

TOOLS = '[tools.python]\ndescription = "python"\ncommand = ["{python}", "{script}"]\n'

NASTY = r"""
import json, os, sys
sys.stdout.buffer.write(b"before\x00after \xff\xfe bad utf-8 \xc3\xa9 ok\n")
sys.stderr.buffer.write(b"warn\x00ing \xff\n")
os.makedirs("out", exist_ok=True)
open(b"out/r\xe9sultat-\xff.dat", "wb").write(b"x")
open("metrics.json", "wb").write(
    b'{"loss": NaN, "best": Infinity, "worst": -Infinity, "ok": 1.5,'
    b' "name": "a\\u0000b", "raw": "caf\xe9", "nested": {"v": [1, NaN]}}'
)
"""


def run(store: Store, tmp_path: Path, script: str, spool: Spool | None = None) -> dict[str, Any]:
    (tmp_path / "tools.toml").write_text(TOOLS)
    (tmp_path / "job.py").write_text(script)
    with store.session() as session:
        job_id = store_jobs.create_job(
            session, tool="python", queue="cpu", script_name="job.py", script_content=script
        ).id
    recorder.run_recorded(
        store, spool or Spool(tmp_path / "spool"), job_id, worker="w@host",
        data_dir=tmp_path / "data", tools_file=tmp_path / "tools.toml", max_attempts=3,
        sample_interval=0.5, flush_seconds=2.0, kill_grace=1.0, default_timeout=60.0,
    )  # fmt: skip
    with store.session() as session:
        return records.load_record(session, job_id, events=True)


def test_text_and_json_are_made_storable_without_losing_what_they_said() -> None:
    assert storable.text("a\x00b") == "a\u2400b"
    assert storable.text("r\udce9sultat") == "r\\xe9sultat"  # a byte kept by surrogateescape
    assert storable.text("lone \ud800") == "lone \\ud800"
    assert storable.decode(b"x\xff\x00y\xc3\xa9") == "x\\xff\u2400y\u00e9"
    cleaned = storable.clean_metrics(
        {"a": math.nan, "b": [1.0, math.inf], "c": {"d": -math.inf}, "k\x00": "v\x00", "e": 2}
    )
    assert cleaned == {
        "a": None, "b": [1.0, None], "c": {"d": None}, "k\u2400": "v\u2400", "e": 2,
        storable.NON_FINITE_KEY: ["a", "b[1]", "c.d"],
    }  # fmt: skip
    assert storable.clean_metrics({"ok": 1}) == {"ok": 1}  # nothing to say: no note


def test_a_metrics_file_nested_too_deep_is_a_reason_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    metrics, reason = outcome.read_metrics(path)
    assert metrics == {} and reason is not None and "is not valid JSON" in reason


def test_a_job_that_writes_nul_bad_utf8_nan_and_bad_names_is_stored(
    store: Store, tmp_path: Path
) -> None:
    rec = run(store, tmp_path, NASTY)
    assert rec["status"] == "success", rec.get("error")
    assert rec["logs"]["stdout_tail"] == "before\u2400after \\xff\\xfe bad utf-8 \u00e9 ok\n"
    assert rec["logs"]["stderr_tail"] == "warn\u2400ing \\xff\n"
    metrics = rec["metrics"]
    assert metrics["loss"] is None and metrics["best"] is None and metrics["worst"] is None
    assert metrics["ok"] == 1.5 and metrics["name"] == "a\u2400b"
    assert metrics["raw"] == "caf\\xe9" and metrics["nested"] == {"v": [1, None]}
    assert metrics[storable.NON_FINITE_KEY] == ["best", "loss", "nested.v[1]", "worst"]
    names = [a["path"] for a in rec["artifacts"]]
    assert "out/r\\xe9sultat-\\xff.dat" in names


def test_an_outcome_the_store_refuses_fails_the_job_with_the_reason(
    store: Store, tmp_path: Path
) -> None:
    with store.session() as session:
        job_id = store_jobs.create_job(session, tool="python", queue="cpu").id
    with store.transaction() as conn:
        assert attempts.begin_attempt(conn, job_id, worker="w@host", max_attempts=3)
    # A return code no INTEGER column holds: refused for good on both backends.
    outcome = {"status": "success", "returncode": 2**70, "duration_s": 1.0}
    payload = {"outcome": outcome, "attempt": 1, "samples": [], "ran": True}
    refused = storable.write_or_fail(
        lambda p: recorder.write_payload(store, job_id, p), job_id, payload
    )
    assert refused is not None
    with store.session() as session:
        rec = records.load_record(session, job_id, events=True)
    assert rec["status"] == "failed" and rec["duration_seconds"] == 1.0
    assert rec["error"].startswith("its outcome could not be stored: ")
    assert rec["status_history"][-1]["detail"] == "outcome not storable"
