"""Summaries of sampled columns, and the profile dict returned by ``stop_profiling``.

Everything here is pure arithmetic over the columnar time series; a statistic over a column with
no readings is ``None`` (never 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jobprobe.analysis import stats as analysis_stats

_MB = 1024.0 * 1024.0

Columns = Mapping[str, Sequence[Any]]


def _values(col: Sequence[Any] | None) -> list[float]:
    return [float(v) for v in col or () if v is not None]


def stats(col: Sequence[Any] | None) -> dict[str, float | None]:
    """mean, min, max and p95 of a column, ignoring ``None``."""
    v = _values(col)
    if not v:
        return {"mean": None, "min": None, "max": None, "p95": None}
    return {
        "mean": sum(v) / len(v),
        "min": min(v),
        "max": max(v),
        "p95": analysis_stats.percentile(v, 95),
    }


def active_mean(col: Sequence[Any] | None) -> float | None:
    """Mean of a utilisation column from its first to its last non-zero sample (the stretch in
    which the job used the device, start-up and tear-down left out); 0.0 if never above zero."""
    v = _values(col)
    if not v:
        return None
    busy = [i for i, x in enumerate(v) if x > 0]
    if not busy:
        return 0.0
    window = v[busy[0] : busy[-1] + 1]
    return sum(window) / len(window)


def last(col: Sequence[Any] | None) -> float | None:
    """The last non-``None`` value of a column."""
    for v in reversed(col or ()):
        if v is not None:
            return float(v)
    return None


def _mb(v: float | None) -> float | None:
    return None if v is None else v / _MB


def _sum(*vals: float | None) -> float | None:
    return None if any(v is None for v in vals) else sum(v for v in vals if v is not None)


def io_section(cols: Columns, prefix: str) -> dict[str, float | None]:
    """``read_mb``, ``write_mb``, ``read_count``, ``write_count``, ``total_io_mb``."""
    read, write = (
        _mb(last(cols.get(f"{prefix}_read_bytes"))),
        _mb(last(cols.get(f"{prefix}_write_bytes"))),
    )
    return {
        "read_mb": read,
        "write_mb": write,
        "read_count": last(cols.get(f"{prefix}_read_count")),
        "write_count": last(cols.get(f"{prefix}_write_count")),
        "total_io_mb": _sum(read, write),
    }


def gpu_section(cols: Columns, devices: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``{"nvidia": [per device]}``, or ``{}`` without devices."""
    if not devices:
        return {}
    out = []
    for dev in devices:
        i = dev["index"]

        def s(key: str, i: int = i) -> dict[str, float | None]:
            return stats(cols.get(f"gpu{i}_{key}"))

        reasons: dict[str, int] = {}
        for rs in cols.get(f"gpu{i}_throttle_reasons") or ():
            for r in rs or ():
                reasons[r] = reasons.get(r, 0) + 1
        energy = last(cols.get(f"gpu{i}_energy_mj"))
        out.append(
            {
                "index": i,
                "name": dev.get("name"),
                "uuid": dev.get("uuid"),
                "mean_util_percent": s("util_percent")["mean"],
                "active_mean_util_percent": active_mean(cols.get(f"gpu{i}_util_percent")),
                "max_util_percent": s("util_percent")["max"],
                "mean_mem_util_percent": s("mem_util_percent")["mean"],
                "max_mem_util_percent": s("mem_util_percent")["max"],
                "max_mem_used_mb": s("mem_used_mb")["max"],
                "mem_total_mb": dev.get("mem_total_mb"),
                "mean_power_w": s("power_w")["mean"],
                "max_power_w": s("power_w")["max"],
                "energy_j": None if energy is None else energy / 1000.0,
                "max_temp_c": s("temp_c")["max"],
                "mean_sm_clock_mhz": s("sm_clock_mhz")["mean"],
                "throttle_reasons": reasons,
                "proc_mem_max_mb": s("proc_mem_mb")["max"],
            }
        )
    return {"nvidia": out}


def container_section(cols: Columns) -> dict[str, float | None]:
    """Container CPU, memory, network and block I/O over the run."""
    cpu = stats(cols.get("container_cpu_percent"))
    mem = stats(cols.get("container_mem_mb"))
    limit = last(cols.get("container_mem_limit_mb"))
    return {
        "cpu_percent": cpu["mean"],
        "cpu_percent_max": cpu["max"],
        "memory_usage_mb": mem["max"],
        "memory_limit_mb": limit,
        "memory_percent": None if limit is None or mem["max"] is None else 100 * mem["max"] / limit,
        "net_rx_mb": _mb(last(cols.get("container_net_rx_bytes"))),
        "net_tx_mb": _mb(last(cols.get("container_net_tx_bytes"))),
        "block_read_mb": _mb(last(cols.get("container_block_read_bytes"))),
        "block_write_mb": _mb(last(cols.get("container_block_write_bytes"))),
    }


def jitter_section(jitter_s: Sequence[float]) -> dict[str, float | None]:
    """p50, p99 and max of (actual - scheduled) sample times, in milliseconds."""
    ms = [j * 1000.0 for j in jitter_s]
    return {
        "p50": analysis_stats.percentile(ms, 50),
        "p99": analysis_stats.percentile(ms, 99),
        "max": max(ms) if ms else None,
    }


@dataclass
class GroupInfo:
    """What the profile says about a job sampled through its control group."""

    accounting: str
    #: figure -> why it is null (``profiler.cgroup.read_totals_with_reasons``).
    reasons: Mapping[str, str] = field(default_factory=dict)
    #: The top-process views read every few ticks.
    top_views: Sequence[Sequence[Mapping[str, Any]]] = ()


def top_processes(views: Sequence[Sequence[Mapping[str, Any]]], n: int = 5) -> list[dict[str, Any]]:
    """The processes that used the most CPU and memory over the views: per process, its
    largest CPU percent and resident MB and its last CPU seconds."""
    merged: dict[tuple[int, str], dict[str, Any]] = {}
    for view in views:
        for row in view:
            key = (int(row["pid"]), str(row["comm"]))
            seen = merged.setdefault(key, {"pid": key[0], "comm": key[1]})
            for name in ("max_cpu_percent", "max_rss_mb"):
                value = row.get(name.removeprefix("max_"))
                if value is not None and (seen.get(name) is None or value > seen[name]):
                    seen[name] = value
                seen.setdefault(name, None)
            seen["cpu_seconds"] = row.get("cpu_seconds")
    rows = list(merged.values())
    by_cpu = sorted(rows, key=lambda r: r["cpu_seconds"] or 0.0, reverse=True)[:n]
    by_rss = sorted(rows, key=lambda r: r["max_rss_mb"] or 0.0, reverse=True)[:n]
    return list({(r["pid"], r["comm"]): r for r in by_cpu + by_rss}.values())


def group_sections(cols: Columns, group: GroupInfo) -> dict[str, Any]:
    """``process_cpu``, ``process_memory``, ``io_stats`` and ``tasks`` of a job sampled
    through its control group: everything that ever ran in the group, whoever reaped it."""
    pcpu = stats(cols.get("proc_cpu_percent"))
    cur = stats(cols.get("cg_mem_current_mb"))
    total = last(cols.get("proc_cpu_seconds"))
    kernel_peak = last(cols.get("cg_mem_peak_mb"))
    known_peaks = [v for v in (kernel_peak, cur["max"]) if v is not None]
    tasks_peak = last(cols.get("cg_tasks_peak"))
    sampled_tasks = stats(cols.get("proc_threads"))["max"]
    return {
        "process_cpu": {
            "mean_percent": pcpu["mean"],
            "max_percent": pcpu["max"],
            "p95_percent": pcpu["p95"],
            "total_seconds": total,
            "user_seconds": last(cols.get("proc_user_seconds")),
            "system_seconds": last(cols.get("proc_system_seconds")),
            "tree_total_seconds": total,
            "source": group.accounting,
        },
        "process_memory": {
            # The group's charge: anonymous memory and page cache (which includes shared
            # memory), so a job that writes files is charged their cache.
            "measure": "control-group charge: anonymous memory + page cache",
            "mean_mb": cur["mean"],
            # The kernel's high-water mark catches spikes between samples.
            "max_mb": max(known_peaks) if known_peaks else None,
            "min_mb": cur["min"],
            "current_mb": last(cols.get("cg_mem_current_mb")),
            "peak_mb": kernel_peak,
            "anon_max_mb": stats(cols.get("cg_mem_anon_mb"))["max"],
            "anon_mean_mb": stats(cols.get("cg_mem_anon_mb"))["mean"],
            "cache_max_mb": stats(cols.get("cg_mem_cache_mb"))["max"],
            "shmem_max_mb": stats(cols.get("cg_mem_shmem_mb"))["max"],
            "oom_kills": last(cols.get("cg_oom_kills")),
            "source": group.accounting,
        },
        "io_stats": {
            **io_section(cols, "proc"),
            "source": group.accounting,
            # Measured here: 50 MB written without fsync and flushed by a later sync counted 0.
            "note": "block I/O charged to the group; on cgroup v1, buffered writes the kernel "
            "flushes later are charged to the root group, not the job"
            if group.accounting == "cgroup-v1"
            else "block I/O charged to the group, writeback included",
        },
        "tasks": {
            "current": last(cols.get("proc_threads")),
            "peak": tasks_peak if tasks_peak is not None else sampled_tasks,
            "peak_source": "kernel" if tasks_peak is not None else "max of samples",
            "max_processes": stats(cols.get("proc_count"))["max"],
        },
        "top_processes": top_processes(group.top_views),
        "accounting": group.accounting,
        "null_reasons": dict(group.reasons),
    }


def network_section(cols: Columns) -> dict[str, Any]:
    """The machine's traffic over the run (loopback excluded): host-wide, not the job's; a
    process job shares the host's network namespace, so the kernel cannot tell its bytes."""
    if "net_sent_bytes" not in cols:
        return {}
    return {
        "scope": "host",
        "sent_mb": _mb(last(cols.get("net_sent_bytes"))),
        "recv_mb": _mb(last(cols.get("net_recv_bytes"))),
        "packets_sent": last(cols.get("net_packets_sent")),
        "packets_recv": last(cols.get("net_packets_recv")),
    }


def build_profile(
    cols: Columns,
    *,
    duration_s: float,
    interval_s: float,
    jitter_s: Sequence[float],
    unavailable: Mapping[str, str],
    gpu_devices: Sequence[Mapping[str, Any]],
    has_container: bool,
    has_process_tree: bool,
    tree_cpu_before_s: float | None,
    overhead_cpu_s: float,
    cgroup: GroupInfo | None = None,
) -> dict[str, Any]:
    """The profile (Keystone field names) from the columnar samples."""
    n = len(cols.get("t") or ())
    cpu = stats(cols.get("cpu_percent"))
    mem = stats(cols.get("mem_used_mb"))
    pcpu = stats(cols.get("proc_cpu_percent"))
    pmem = stats(cols.get("proc_rss_mb"))
    total = last(cols.get("proc_cpu_seconds"))
    profile: dict[str, Any] = {
        "duration_seconds": duration_s,
        "samples_collected": n,
        "sampling_interval_seconds": interval_s,
        "cpu": {
            "mean_percent": cpu["mean"],
            "max_percent": cpu["max"],
            "min_percent": cpu["min"],
            "p95_percent": cpu["p95"],
        },
        "memory": {
            "mean_used_mb": mem["mean"],
            "max_used_mb": mem["max"],
            "min_used_mb": mem["min"],
        },
        "process_cpu": {},
        "process_memory": {},
        "io_stats": {},
        "system_io_stats": io_section(cols, "disk") if "disk_read_bytes" in cols else {},
        # Kept under its Keystone name for readers of the format; ``scope`` says it is the host's.
        "network": network_section(cols),
        "host_network": network_section(cols),
        "gpu_stats": gpu_section(cols, gpu_devices),
        "container_stats": container_section(cols) if has_container else {},
        "sampling_jitter_ms": jitter_section(jitter_s),
        "unavailable": dict(unavailable),
        "profiler_cpu_seconds": overhead_cpu_s,
    }
    profile["accounting"] = "process-tree" if has_process_tree else None
    if cgroup is not None:
        profile.update(group_sections(cols, cgroup))
    elif has_process_tree:
        profile["process_cpu"] = {
            "mean_percent": pcpu["mean"],
            "max_percent": pcpu["max"],
            "p95_percent": pcpu["p95"],
            "total_seconds": total,
            "user_seconds": last(cols.get("proc_user_seconds")),
            "system_seconds": last(cols.get("proc_system_seconds")),
            "tree_total_seconds": _sum(total, tree_cpu_before_s),
        }
        profile["process_memory"] = {
            "mean_mb": pmem["mean"],
            "max_mb": pmem["max"],
            "min_mb": pmem["min"],
            "peak_hwm_mb": stats(cols.get("proc_hwm_mb"))["max"],
        }
        profile["io_stats"] = io_section(cols, "proc")
    return profile
