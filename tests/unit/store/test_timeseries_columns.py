"""``store.samples.load_timeseries`` turns stored samples into columns: a figure of ``extra``
that appears late or goes missing is null where a sample lacks it, never 0; numbers keep
their type; booleans, strings and lists are no figures of a time series."""

from __future__ import annotations

import time

import pytest

from jobprobe.store import jobs as store_jobs
from jobprobe.store import reading, sample_reads
from jobprobe.store import samples as store_samples
from jobprobe.store.db import Store


def test_extras_that_come_and_go_are_null_where_missing(store: Store) -> None:
    with store.session() as s:
        job_id = store_jobs.create_job(s, tool="bash", queue="cpu").id
    now = time.time()
    rows = [
        {"t": now, "proc_rss_mb": 1.0, "flag": True},
        {"t": now + 0.5, "proc_rss_mb": 2.0, "cg_oom_kills": 0, "note": "x"},
        {"t": now + 1.0, "cg_oom_kills": 1, "gpu0_power_w": 80.5, "top": [1, 2]},
        {"t": now + 1.5, "gpu0_power_w": None},
    ]
    store_samples.write_samples(store, job_id, 1, rows)
    with store.session() as s:
        series = sample_reads.load_timeseries(reading.from_session(s), job_id)
    assert series["t"] == pytest.approx([r["t"] for r in rows], abs=1e-5)  # stored to the µs
    assert series["attempt"] == [1, 1, 1, 1]
    assert series["proc_rss_mb"] == [1.0, 2.0, None, None]
    assert series["cg_oom_kills"] == [None, 0, 1, None]
    assert [type(v) for v in series["cg_oom_kills"][1:3]] == [int, int]
    assert series["gpu0_power_w"] == [None, None, 80.5, None]
    assert not {"flag", "note", "top"} & set(series)
    assert list(series)[-2:] == ["cg_oom_kills", "gpu0_power_w"]  # in the order they appeared


def test_a_job_without_samples_has_empty_columns(store: Store) -> None:
    with store.session() as s:
        job_id = store_jobs.create_job(s, tool="bash", queue="cpu").id
        series = sample_reads.load_timeseries(reading.from_session(s), job_id)
    assert series["t"] == [] and series["proc_cpu_percent"] == []
    assert set(series) == {"t", "attempt", *sample_reads.COLUMNS}
