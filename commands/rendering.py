"""How the command line prints: JSON, aligned tables, sparklines, numbers, times and the
summaries several commands share (a job's, a sweep's, a usage tree's)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import click

from jobprobe.commands import terminal

SPARKS = "▁▂▃▄▅▆▇█"


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON (anything not JSON-native as its string)."""
    click.echo(json.dumps(data, indent=2, default=str))


def echo_lines(lines: Iterable[str]) -> None:
    """Print each line."""
    for line in lines:
        click.echo(terminal.escape_lines(line))


def fmt_num(value: Any, digits: int = 1, unit: str = "") -> str:
    """A number with thousands separators and ``digits`` decimals (floats); ``-`` for None."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return f"{value}{unit}"


def fmt_sig(value: Any, digits: int = 4) -> str:
    """A number to ``digits`` significant figures (display only); ``-`` for None."""
    from jobprobe.analysis import report

    if value is None:
        return "-"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return report.sig(float(value), digits)
    return str(value)


def fmt_when(iso: str | None) -> str:
    """An ISO time in local time, to the second; ``-`` for none."""
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def fmt_hours(value: float | None) -> str:
    """Hours to three significant figures (short jobs add up to small fractions)."""
    return "-" if value is None else f"{value:.3g}"


def fmt_change(change: float | None) -> str:
    """A relative change as a signed whole percentage; ``-`` when there was nothing before."""
    return "-" if change is None else f"{100 * change:+.0f}%"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain, aligned text table."""
    body = [[("-" if c is None else terminal.escape(str(c))) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in body
    ]
    return "\n".join(lines)


def sparkline(values: Sequence[float | None], width: int = 60) -> str:
    """A one-line picture of a series (gaps where a value was not measured)."""
    if not values:
        return ""
    step = max(1, len(values) // width)
    buckets = [values[i : i + step] for i in range(0, len(values), step)]
    points = [max((v for v in b if v is not None), default=None) for b in buckets]
    known = [p for p in points if p is not None]
    if not known:
        return "(not measured)"
    lo, hi = min(known), max(known)
    span = (hi - lo) or 1.0
    return "".join(
        " " if p is None else SPARKS[int((p - lo) / span * (len(SPARKS) - 1))] for p in points
    )


def series_max(values: Sequence[float | None]) -> float | None:
    """The largest measured value of a series (None when nothing was measured)."""
    known = [v for v in values if v is not None]
    return max(known) if known else None


# ---------------------------------------------------------------- jobs


def job_memory(sample: Mapping[str, Any]) -> tuple[str, float | None]:
    """The job's memory in one sample: the process tree's RSS, or its control group's charge
    (``MEM``: anonymous memory and page cache) where the group is what is sampled."""
    if sample.get("proc_rss_mb") is None and sample.get("cg_mem_current_mb") is not None:
        return "MEM", sample["cg_mem_current_mb"]
    return "RSS", sample.get("proc_rss_mb")


#: The columns ``job-details --timeseries`` prints: (heading, key, digits).
SAMPLE_TABLE: tuple[tuple[str, str, int], ...] = (
    ("CPU %", "proc_cpu_percent", 0), ("RSS MB", "proc_rss_mb", 1),
    ("MEM MB", "cg_mem_current_mb", 1), ("READ B/s", "proc_read_bps", 0),
    ("WRITE B/s", "proc_write_bps", 0), ("NET IN B/s", "net_recv_bps", 0),
    ("NET OUT B/s", "net_sent_bps", 0), ("GPU %", "gpu_util_percent", 0),
    ("GPU MB", "gpu_mem_used_mb", 0), ("GPU W", "gpu_power_w", 0),
    ("CTR CPU %", "container_cpu_percent", 0), ("CTR MB", "container_mem_mb", 1),
)  # fmt: skip


def sample_table(series: Mapping[str, list[Any]]) -> str:
    """Every sample of ``series`` (``load_timeseries``' columns) as a table: seconds since the
    first sample, then each figure of SAMPLE_TABLE that any sample measured ("-": not measured)."""
    if not series.get("t"):
        return "no samples stored"
    t0 = series["t"][0]
    columns = [
        (h, k, d) for h, k, d in SAMPLE_TABLE if any(v is not None for v in series.get(k, []))
    ]
    rows = [
        (f"{t - t0:.1f}", *(fmt_num(series[k][i], d) for _, k, d in columns))
        for i, t in enumerate(series["t"])
    ]
    return table(["T s", *(h for h, _, _ in columns)], rows)


def live_line(sample: Mapping[str, Any] | None, elapsed: float, status: str) -> str:
    """One line of a running job's progress: status, elapsed time, CPU, RSS (and GPU)."""
    parts = [f"{status:<8}", f"{elapsed:7.1f}s"]
    if sample:
        parts.append(f"CPU {fmt_num(sample.get('proc_cpu_percent'), 0, '%'):>6}")
        name, mb = job_memory(sample)
        parts.append(f"{name} {fmt_num(mb, 1, ' MB'):>10}")
        if sample.get("gpu_util_percent") is not None:
            parts.append(f"GPU {fmt_num(sample.get('gpu_util_percent'), 0, '%')}")
    return "  ".join(parts)


def job_summary(rec: Mapping[str, Any]) -> list[str]:
    """A job record's key figures, one per line, then the last lines of its stdout."""
    ru = rec["resource_usage"]
    prof = rec.get("detailed_profile") or {}
    pc = prof.get("process_cpu") or {}
    io = prof.get("io_stats") or {}
    rows = [
        ("job", rec["task_id"]),
        ("status", f"{rec['status']} (exit code {fmt_num(rec['returncode'])})"),
        ("duration", fmt_num(rec["duration_seconds"], 2, " s")),
        ("CPU time", f"{fmt_num(ru['cpu_total_seconds'], 2, ' s')} "
                     f"(user {fmt_num(ru['cpu_user_seconds'], 2)}, system {fmt_num(ru['cpu_system_seconds'], 2)})"),
        ("peak memory", fmt_num(ru["memory_peak_mb"], 1, " MB")),
        ("CPU % (tree)", f"mean {fmt_num(pc.get('mean_percent'), 0)}  max {fmt_num(pc.get('max_percent'), 0)}"),
        ("I/O", f"read {fmt_num(io.get('read_mb'), 2, ' MB')}  write {fmt_num(io.get('write_mb'), 2, ' MB')}"),
        ("samples", f"{fmt_num(prof.get('samples_collected'))} every "
                    f"{fmt_num(prof.get('sampling_interval_seconds'), 2, ' s')}"),
    ]  # fmt: skip
    rows += _containment_rows(rec)
    for gpu in (prof.get("gpu_stats") or {}).get("nvidia", []):
        rows.append((
            f"GPU {gpu.get('index')}",
            f"util mean {fmt_num(gpu.get('mean_util_percent'), 0, '%')}  energy {fmt_num(gpu.get('energy_j'), 0, ' J')}",
        ))  # fmt: skip
    if rec.get("metrics"):
        rows.append(("metrics", json.dumps(rec["metrics"])))
    for name, reason in (prof.get("unavailable") or {}).items():
        rows.append((f"no {name}", reason))
    if rec.get("error"):
        rows.append(("error", rec["error"]))
    width = max(len(k) for k, _ in rows)
    lines = [f"{key:<{width}}  {value}" for key, value in rows]
    tail = (rec["logs"].get("stdout_tail") or "").rstrip().splitlines()[-5:]
    if tail:
        lines.append("stdout (last lines):")
        lines += [f"  {line}" for line in tail]
    return lines


def _containment_rows(rec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """How the job was counted and contained, and its limits (when it had any)."""
    rows: list[tuple[str, str]] = []
    if rec.get("accounting"):
        text = str(rec["accounting"])
        leaked = rec.get("leaked_processes")
        if leaked:
            text += f" ({leaked} processes left when its root ended, killed)"
        rows.append(("accounting", text))
    limits = rec.get("limits") or {}
    asked = [
        f"{label} {fmt_num(limits.get(key))}{unit}"
        for label, key, unit in (("memory", "mem_mb", " MB"), ("CPUs", "cpus", ""),
                                 ("processes", "max_procs", ""))
        if limits.get(key) is not None
    ]  # fmt: skip
    if asked:
        applied = limits.get("applied")
        how = "applied" if applied else f"not applied: {limits.get('reason') or 'unknown'}"
        rows.append(("limits", f"{', '.join(asked)} ({how})"))
    return rows


# ---------------------------------------------------------------- sweeps and usage


def sweep_lines(facts: Mapping[str, Any]) -> list[str]:
    """The human form of a sweep report: a table of loads, sparklines and the findings."""
    from jobprobe.analysis import report

    points = facts.get("points") or []
    jobs = facts["jobs"]
    lines = [
        f"sweep {facts['sweep_id']}  {facts['tool']} {facts['script']}  vary {facts['vary']}"
        f"  ({jobs['ended']}/{jobs['total']} jobs ended, {jobs['succeeded']} succeeded)",
        table(
            [facts["vary"].upper(), "RUNS", "THROUGHPUT", "P50 ms", "P99 ms"],
            [(fmt_sig(p["value"]), p["repeats"], fmt_sig(p["throughput"]),
              fmt_sig(p["p50_ms"]), fmt_sig(p["p99_ms"])) for p in points],
        ),
    ]  # fmt: skip
    names = facts.get("metric_names") or {}
    used = [f"{k}={', '.join(v)}" for k, v in names.items() if v]
    if used:
        lines.append("metrics: " + "  ".join(used))
    if points:
        lines.append(f"throughput  {sparkline([p['throughput'] for p in points])}")
        lines.append(f"p99 ms      {sparkline([p['p99_ms'] for p in points])}")
    lines += [f"- {finding}" for finding in report.sweep_findings(facts)]
    return lines


def tree_lines(node: Mapping[str, Any], depth: int = 0) -> list[str]:
    """A usage drill-down tree, indented two spaces a level, pruned levels counted."""
    pad = "  " * depth
    if node["level"] == "job":
        line = f"{pad}job {node['name'][:8]}  {node['status']}"
    else:
        line = f"{pad}{node['level']} {node['name']}  {node['jobs']} jobs, CPU {fmt_hours(node['cpu_hours'])} h"
    line += (
        f", GPU {fmt_hours(node['gpu_hours'])} h, wasted {fmt_hours(node['wasted_gpu_hours'])} h"
    )
    if node.get("gpu_unknown_jobs"):
        line += f" ({node['gpu_unknown_jobs']} jobs with GPUs unmeasured)"
    lines = [line]
    for child in node.get("children") or []:
        lines += tree_lines(child, depth + 1)
    if node.get("more"):
        lines.append(f"{pad}  … and {node['more']} more")
    return lines
