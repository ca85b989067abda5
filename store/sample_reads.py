"""Profiler samples as a time series, read in plain SQL on a ``Reader``, and which figures a
sample keeps as columns. Standard library only (``job-details`` draws its sparklines from these
on the read commands' lean path)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from jobprobe.store.reading import Reader, as_time

# Sample columns: one row per job and instant, the common metrics as columns; the rest in `extra`.
SAMPLE_FLOAT_COLUMNS: tuple[str, ...] = (
    "elapsed_s",
    "cpu_percent",
    "load1",
    "mem_used_mb",
    "mem_percent",
    "swap_used_mb",
    "proc_cpu_percent",
    "proc_cpu_seconds",
    "proc_rss_mb",
    "proc_read_bps",
    "proc_write_bps",
    "disk_read_bps",
    "disk_write_bps",
    "net_sent_bps",
    "net_recv_bps",
    "gpu_util_percent",
    "gpu_mem_used_mb",
    "gpu_power_w",
    "gpu_temp_c",
    "container_cpu_percent",
    "container_mem_mb",
)
SAMPLE_INT_COLUMNS: tuple[str, ...] = (
    "proc_count",
    "proc_threads",
    "proc_read_bytes",
    "proc_write_bytes",
)


COLUMNS: tuple[str, ...] = SAMPLE_FLOAT_COLUMNS + SAMPLE_INT_COLUMNS
_FIXED = frozenset({"t", "attempt", *COLUMNS})
#: The types of the figures a time series keeps from ``extra`` (not bool: ``type`` is exact).
_NUMBER_TYPES = frozenset({int, float, type(None)})
_ABSENT = object()


def scalar_extras(extra: Any) -> dict[str, float | int | None]:
    """The numbers among a sample's ``extra`` figures (a control group's memory, per-GPU
    figures, ...); lists such as the top processes are left out of a time series."""
    if not isinstance(extra, dict):
        return {}
    return {k: v for k, v in extra.items() if type(v) in _NUMBER_TYPES and k not in _FIXED}


def _sample_rows(reader: Reader, job_id: str) -> Sequence[Sequence[Any]]:
    """The job's samples, oldest first, as ``(t in unix seconds, attempt, *COLUMNS, extra as
    JSON text)``. PostgreSQL sends them in its binary format where the driver takes it
    (numbers decoded without text; a fifth less time for an hour of samples)."""
    columns = ", ".join(COLUMNS)
    if reader.postgres:
        sql = (
            f"SELECT extract(epoch FROM t)::float8, attempt, {columns}, extra::text "
            "FROM samples WHERE job_id = :id ORDER BY t, id"
        )
        return reader.tuples(sql, {"id": job_id}, binary=True)
    sql = f"SELECT t, attempt, {columns}, extra FROM samples WHERE job_id = :id ORDER BY t, id"
    return [(_seconds(r[0]), *r[1:]) for r in reader.tuples(sql, {"id": job_id})]


def _seconds(stored: Any) -> float:
    at = as_time(stored)
    assert at is not None  # t is NOT NULL
    return at.timestamp()


def load_timeseries(reader: Reader, job_id: str) -> dict[str, list[Any]]:
    """All stored samples of a job as columns (``t`` as unix seconds), oldest first: the
    common columns, then every numeric figure of ``extra`` (null where a sample lacks it).

    Rows are read as plain tuples (no ORM objects), their extras parsed in one go, and turned
    into columns a column at a time: an hour's 7,200 samples in an eighth of the time the ORM
    took (bench/web_api.py)."""
    rows = _sample_rows(reader, job_id)
    out: dict[str, list[Any]] = {"t": [r[0] for r in rows], "attempt": [r[1] for r in rows]}
    for i, name in enumerate(COLUMNS, start=2):
        out[name] = [r[i] for r in rows]
    parsed = json.loads("[" + ",".join(r[-1] or "null" for r in rows) + "]")
    extras = [e if isinstance(e, dict) else {} for e in parsed]
    keys: dict[str, Any] = {}  # in the order they first appear
    for figures in extras:
        keys.update(figures)
    for key in keys:
        if key in _FIXED:
            continue
        raw = [figures.get(key, _ABSENT) for figures in extras]
        # scalar_extras' rule, a column at a time: a figure some sample has as a number (or
        # null) is a column; elsewhere (absent, a list, a flag) it is null.
        if any(type(v) in _NUMBER_TYPES for v in raw):
            out[key] = [v if type(v) in _NUMBER_TYPES else None for v in raw]
    return out
