"""A sweep's report counts as current only for the set of ended jobs it was written for."""

from __future__ import annotations

from jobprobe.store import reports as store_reports
from jobprobe.store import sweeps as store_sweeps
from jobprobe.store.db import Store


def test_current_report_follows_the_jobs_fingerprint(store: Store) -> None:
    with store.session() as s:
        sweep_id = store_sweeps.create_sweep(
            s, tool="python", script_name="load.py", vary_name="clients", vary_values=[1, 2]
        ).id
    with store.session() as s:
        assert store_sweeps.current_report(s, sweep_id, "f1") is None
        store_reports.save_report(
            s, kind="sweep", body={"jobs_fingerprint": "f1"}, path="/r/1.md", sweep_id=sweep_id
        )
    with store.session() as s:
        current = store_sweeps.current_report(s, sweep_id, "f1")
        assert current is not None and current.path == "/r/1.md"
        assert store_sweeps.current_report(s, sweep_id, "f2") is None  # more jobs ended since
        store_reports.save_report(
            s, kind="sweep", body={"jobs_fingerprint": "f2"}, path="/r/2.md", sweep_id=sweep_id
        )
    with store.session() as s:
        assert store_sweeps.current_report(s, sweep_id, "f1") is None
        current = store_sweeps.current_report(s, sweep_id, "f2")
        assert current is not None and current.path == "/r/2.md"
