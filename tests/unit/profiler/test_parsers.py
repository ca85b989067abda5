"""Pure parsers and arithmetic on recorded data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from jobprobe.profiler import container, gpu_nvidia, procfs, rates, summary, system
from jobprobe.profiler import disk as disk_mod
from jobprobe.profiler.process_tree import ProcessTreeSampler

DATA = Path(__file__).resolve().parents[2] / "data"
PROC = DATA / "proc"
TICK = os.sysconf("SC_CLK_TCK")


def test_parse_stat_handles_spaces_and_parentheses_in_comm() -> None:
    st = procfs.parse_stat((PROC / "4002" / "stat").read_text())
    assert st.pid == 4002
    assert st.comm == "we ird) (name"
    assert st.state == "S"
    assert st.ppid == 4001
    assert st.num_threads == 1
    assert st.rss_pages == 414
    assert st.starttime == 55497


def test_parse_stat_times() -> None:
    st = procfs.parse_stat((PROC / "4000" / "stat").read_text())
    assert (st.utime, st.stime, st.cutime, st.cstime) == (12, 0, 0, 0)


def test_parse_status_and_io() -> None:
    status = procfs.parse_status((PROC / "4000" / "status").read_text())
    assert set(status) == {
        "hwm_kb",
        "rss_kb",
        "voluntary_ctxt_switches",
        "nonvoluntary_ctxt_switches",
    }
    assert status["rss_kb"] > 0 and status["hwm_kb"] >= status["rss_kb"]
    io = procfs.parse_io((PROC / "4000" / "io").read_text())
    assert {"rchar", "wchar", "syscr", "syscw", "read_bytes", "write_bytes"} <= set(io)


def test_parse_status_values_and_a_zombie_without_memory_lines() -> None:
    text = (PROC / "4000" / "status").read_text()
    lines = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    assert procfs.parse_status(text) == {
        "hwm_kb": int(lines["VmHWM"].split()[0]),
        "rss_kb": int(lines["VmRSS"].split()[0]),
        "voluntary_ctxt_switches": int(lines["voluntary_ctxt_switches"]),
        "nonvoluntary_ctxt_switches": int(lines["nonvoluntary_ctxt_switches"]),
    }
    zombie = (
        "Name:\tsleep\nState:\tZ (zombie)\nThreads:\t1\n"
        "voluntary_ctxt_switches:\t3\nnonvoluntary_ctxt_switches:\t1"
    )  # no final newline
    assert procfs.parse_status(zombie) == {
        "voluntary_ctxt_switches": 3, "nonvoluntary_ctxt_switches": 1
    }  # fmt: skip


def test_parse_children() -> None:
    assert procfs.parse_children("4002 4003 ") == [4002, 4003]
    assert procfs.parse_children("") == []


def test_reader_returns_none_for_missing_process(tmp_path: Path) -> None:
    reader = procfs.ProcReader(str(tmp_path))
    assert reader.stat(123) is None
    assert reader.io(123) is None
    assert reader.children(123, 1) == []


def test_tree_sampler_on_recorded_proc_tree() -> None:
    sampler = ProcessTreeSampler(4000, proc_root=str(PROC))
    s = sampler.sample()
    assert sampler.pids() and sorted(sampler.pids()) == [4000, 4001, 4002, 4003]
    assert s["proc_count"] == 4
    assert s["proc_threads"] == 4
    assert s["proc_cpu_seconds"] == pytest.approx(12 / TICK)
    page = os.sysconf("SC_PAGE_SIZE")
    assert s["proc_rss_mb"] == pytest.approx((3477 + 407 + 414 + 408) * page / 2**20)
    hwm = sum(
        procfs.parse_status((PROC / p / "status").read_text())["hwm_kb"]
        for p in ("4000", "4001", "4002", "4003")
    )
    assert s["proc_hwm_mb"] == pytest.approx(hwm / 1024)
    rchar = sum(
        procfs.parse_io((PROC / p / "io").read_text())["rchar"]
        for p in ("4000", "4001", "4002", "4003")
    )
    assert s["proc_rchar_bytes"] == rchar


def test_docker_stats_v1_recorded() -> None:
    frame = json.loads((DATA / "docker" / "stats_v1.json").read_text())
    s = container.parse_stats(frame)
    cpu_delta = 2316260488 - 1321916873
    system_delta = 1069070000000 - 1067080000000
    assert s["container_cpu_percent"] == pytest.approx(cpu_delta / system_delta * 2 * 100)
    assert s["container_mem_mb"] == pytest.approx((18288640 - 17162240) / 2**20)
    assert s["container_mem_limit_mb"] == 256.0
    assert s["container_net_rx_bytes"] is None  # networking off: unknown, not 0
    assert s["container_block_read_bytes"] == 0.0


def test_docker_stats_v2_shape() -> None:
    frame = json.loads((DATA / "docker" / "stats_v2.json").read_text())
    s = container.parse_stats(frame)
    assert s["container_cpu_percent"] == pytest.approx(1e9 / 4e9 * 4 * 100)
    assert s["container_mem_mb"] == pytest.approx((536870912 - 100663296) / 2**20)
    assert s["container_mem_limit_mb"] == 1024.0
    assert s["container_net_rx_bytes"] == 2 * 1048576
    assert s["container_net_tx_bytes"] == 524288
    assert s["container_block_read_bytes"] == 4194304
    assert s["container_block_write_bytes"] == 67108864 + 1048576


def test_docker_v1_capitalised_blkio_ops_and_no_limit() -> None:
    frame = json.loads((DATA / "docker" / "stats_v1.json").read_text())
    frame["blkio_stats"]["io_service_bytes_recursive"] = [
        {"major": 254, "minor": 0, "op": "Read", "value": 100},
        {"major": 254, "minor": 0, "op": "Write", "value": 300},
        {"major": 254, "minor": 0, "op": "Total", "value": 400},
    ]
    frame["memory_stats"]["limit"] = 9223372036854771712
    s = container.parse_stats(frame)
    assert (s["container_block_read_bytes"], s["container_block_write_bytes"]) == (100, 300)
    assert s["container_mem_limit_mb"] is None


def test_docker_first_frame_without_precpu_is_null() -> None:
    assert (
        container.cpu_percent({"cpu_stats": {"cpu_usage": {"total_usage": 5}}, "precpu_stats": {}})
        is None
    )


def test_throttle_reason_names() -> None:
    assert gpu_nvidia.throttle_names(0) == []
    assert gpu_nvidia.throttle_names(0x24) == ["sw_power_cap", "sw_thermal_slowdown"]
    assert gpu_nvidia.throttle_names(0x1 | 0x1000) == ["gpu_idle", "bit_0x1000"]


def test_rate_tracker_divides_by_measured_interval() -> None:
    tr = rates.RateTracker({"b": ("bps", 1.0), "cpu": ("pct", 100.0)})
    assert tr.update(10.0, {"b": 0, "cpu": 1.0}) == {"bps": None, "pct": None}
    assert tr.update(10.5, {"b": 1000, "cpu": 1.25}) == {"bps": 2000.0, "pct": 50.0}
    assert tr.update(11.5, {"b": None, "cpu": 2.25}) == {"bps": None, "pct": 100.0}
    short = rates.RateTracker({"b": ("bps", 1.0)}, min_dt=0.25)
    short.update(0.0, {"b": 0})
    assert short.update(0.5, {"b": 500}) == {"bps": 1000.0}
    assert short.update(0.51, {"b": 600}) == {"bps": None}  # too short a window
    assert short.update(1.0, {"b": 1500}) == {"bps": 2000.0}  # from the reading at 0.5


def test_busy_percent_and_baseline() -> None:
    assert rates.busy_percent((0, 0, 100, 0), (30, 10, 140, 20), (2, 3)) == pytest.approx(40.0)
    assert rates.busy_percent((1, 1), (1, 1), (1,)) is None
    b = rates.Baseline(["x"])
    first, later = {"x": 5.0, "y": 1}, {"x": 9.0, "y": 2}
    b.apply(first)
    b.apply(later)
    assert (first, later) == ({"x": 0.0, "y": 1}, {"x": 4.0, "y": 2})


def test_summary_stats_ignore_none_and_never_invent_zero() -> None:
    assert summary.stats([None, None]) == {"mean": None, "min": None, "max": None, "p95": None}
    s = summary.stats([1.0, None, 3.0])
    assert (s["mean"], s["min"], s["max"]) == (2.0, 1.0, 3.0)
    assert summary.last([1, 2, None]) == 2.0


def test_proc_stat_recorded() -> None:
    total, cores = system.parse_proc_stat((PROC / "stat").read_text())
    assert len(total) == 8 and len(cores) >= 1
    # The aggregate line is the sum of the per-core lines (to rounding of jiffies).
    for i in range(8):
        assert abs(total[i] - sum(c[i] for c in cores)) <= len(cores)


def test_meminfo_recorded() -> None:
    info = system.parse_meminfo((PROC / "meminfo").read_text())
    m = system.memory_figures(info)
    assert m["mem_used_mb"] + m["mem_available_mb"] == pytest.approx(info["MemTotal"] / 1024)
    assert 0 < m["mem_percent"] < 100
    assert m["swap_used_mb"] >= 0


def test_diskstats_recorded_counts_whole_disks_once() -> None:
    text = (PROC / "diskstats").read_text()
    names = [line.split()[2] for line in text.splitlines()]
    disk = next(n for n in names if not n.startswith(("loop", "ram")))
    only = disk_mod.parse_diskstats(text, frozenset({disk}))
    line = next(x.split() for x in text.splitlines() if x.split()[2] == disk)
    assert only == {
        "read_count": int(line[3]),
        "read_bytes": int(line[5]) * 512,
        "write_count": int(line[7]),
        "write_bytes": int(line[9]) * 512,
    }
    assert disk_mod.parse_diskstats(text)["read_count"] >= only["read_count"]


def test_active_mean_leaves_out_idle_start_and_end() -> None:
    from jobprobe.profiler.summary import active_mean

    assert active_mean([0, 0, None, 90, 100, 0, 100, 0]) == pytest.approx(72.5)
    assert active_mean([0.0, 0.0]) == 0.0
    assert active_mean([None, None]) is None
