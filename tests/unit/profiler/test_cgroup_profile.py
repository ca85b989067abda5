"""ResourceProfiler with a job's control group: figures from the group's files (a copy of the
recorded v1 group whose counters the test moves), host network named as the host's."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from jobprobe.profiler import ResourceProfiler, network, summary

DATA = Path(__file__).resolve().parents[2] / "data" / "cgroup"
MB = 1024.0 * 1024.0


def _group(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for ctl in ("cpuacct", "memory", "blkio", "pids", "unified"):
        shutil.copytree(DATA / "v1" / ctl, tmp_path / ctl)
        paths[ctl] = tmp_path / ctl
    (tmp_path / "pids" / "cgroup.procs").write_text("")
    return paths


def _wait(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_group_figures_replace_the_tree_walk(tmp_path: Path) -> None:
    paths = _group(tmp_path)
    samples: list[dict[str, Any]] = []
    profiler = ResourceProfiler(
        0.05,
        samples.append,
        gpu=False,
        families=("system", "cgroup", "process_tree", "host_network"),
        cgroup_paths=paths,
        top_every=3,
    )
    profiler.start_profiling(pid=None)
    _wait(lambda: len(samples) >= 3, timeout=5)
    # One more CPU second and a later, higher memory peak in the group's own counters.
    (paths["cpuacct"] / "cpuacct.usage").write_text("7708809895\n")
    (paths["cpuacct"] / "cpuacct.usage_user").write_text("3785056924\n")
    (paths["memory"] / "memory.max_usage_in_bytes").write_text(f"{300 * 1024 * 1024}\n")
    (paths["pids"] / "pids.peak").write_text("11\n")
    _wait(lambda: samples[-1]["proc_cpu_seconds"] == pytest.approx(7.708809895), timeout=5)
    n = len(samples)
    _wait(lambda: len(samples) >= n + 2, timeout=5)
    profile = profiler.stop_profiling()

    assert "process_tree" not in profile["unavailable"]  # not needed, not run
    assert profile["accounting"] == "cgroup-v1"
    cpu = profile["process_cpu"]
    assert cpu["source"] == "cgroup-v1"
    assert cpu["total_seconds"] == pytest.approx(7.708809895)  # counted from the group's zero
    assert cpu["user_seconds"] == pytest.approx(7.708809895 * 3785056924 / 7700050559)
    assert cpu["max_percent"] > 0  # the second moved within one measured interval
    mem = profile["process_memory"]
    assert mem["peak_mb"] == pytest.approx(300.0)
    assert mem["max_mb"] == pytest.approx(300.0)  # the kernel's peak, not the sampled max
    assert mem["current_mb"] == pytest.approx(190930944 / MB)
    assert mem["anon_max_mb"] == pytest.approx(155795456 / MB)
    assert mem["cache_max_mb"] == pytest.approx(33226752 / MB)
    assert profile["io_stats"]["read_mb"] == pytest.approx(31551488 / MB)
    assert profile["io_stats"]["write_count"] == 51
    assert profile["tasks"] == {
        "current": 4,
        "peak": 11,
        "peak_source": "kernel",
        "max_processes": 0,
    }
    assert profile["top_processes"] == []  # the recorded group has no live process
    assert profile["null_reasons"] == {"memory_limit_mb": "no memory limit set"}
    assert profile["network"]["scope"] == "host"
    assert profile["host_network"] == profile["network"]
    assert "cg_top" not in profile["timeseries"]


def test_without_a_group_the_tree_is_walked() -> None:
    profiler = ResourceProfiler(0.05, gpu=False, families=("cgroup", "process_tree"))
    profiler.start_profiling()
    profile = profiler.stop_profiling()
    assert profile["accounting"] == "process-tree"
    assert profile["process_cpu"]["total_seconds"] is not None
    assert "tasks" not in profile


def test_host_network_excludes_loopback() -> None:
    text = (
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
        "errs drop fifo colls carrier compressed\n"
        "    lo: 30542306  126029    0    0    0     0          0         0 30542306  126029 "
        "   0    0    0     0       0          0\n"
        "  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n"
        "  eth1: 5 1 0 0 0 0 0 0 7 1 0 0 0 0 0 0\n"
    )
    assert network.parse_net_dev(text) == {
        "recv_bytes": 1005,
        "recv_packets": 11,
        "sent_bytes": 2007,
        "sent_packets": 21,
    }


def test_top_processes_keep_each_process_largest_figures() -> None:
    views = [
        [{"pid": 1, "comm": "a", "cpu_percent": None, "cpu_seconds": 1.0, "rss_mb": 10.0}],
        [
            {"pid": 1, "comm": "a", "cpu_percent": 90.0, "cpu_seconds": 2.0, "rss_mb": 5.0},
            {"pid": 2, "comm": "b", "cpu_percent": 5.0, "cpu_seconds": 0.1, "rss_mb": 50.0},
        ],
    ]
    assert summary.top_processes(views, n=1) == [
        {"pid": 1, "comm": "a", "max_cpu_percent": 90.0, "max_rss_mb": 10.0, "cpu_seconds": 2.0},
        {"pid": 2, "comm": "b", "max_cpu_percent": 5.0, "max_rss_mb": 50.0, "cpu_seconds": 0.1},
    ]


def test_an_unreadable_group_falls_back_to_the_tree_walk(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jobprobe.profiler")
    profiler = ResourceProfiler(
        0.05,
        gpu=False,
        families=("cgroup", "process_tree"),
        cgroup_paths={"memory": tmp_path / "gone", "unified": tmp_path / "gone-too"},
    )
    profiler.start_profiling()
    profile = profiler.stop_profiling()
    assert "no readable figure" in profile["unavailable"]["cgroup"]
    assert profile["accounting"] == "process-tree"
    assert profile["process_cpu"]["total_seconds"] is not None
    assert any("walking its processes" in r.getMessage() for r in caplog.records)


def test_without_pids_peak_the_tasks_peak_is_the_largest_sample(tmp_path: Path) -> None:
    paths = _group(tmp_path)
    (paths["pids"] / "pids.peak").unlink()
    profiler = ResourceProfiler(0.05, gpu=False, families=("cgroup",), cgroup_paths=paths)
    profiler.start_profiling()
    profile = profiler.stop_profiling()
    assert profile["tasks"]["peak"] == 4
    assert profile["tasks"]["peak_source"] == "max of samples"
    assert "pids.peak" in profile["null_reasons"]["tasks_peak"]


def test_noop_throttle_rules_name_whole_disks(tmp_path: Path) -> None:
    from jobprobe.profiler import cgroup

    for name, dev in (("vda", "254:0"), ("loop0", "7:0"), ("nvme0n1", "259:0")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "dev").write_text(dev + "\n")
    assert cgroup.noop_throttle_rules(str(tmp_path)) == [
        "259:0 1099511627776",
        "254:0 1099511627776",
    ]


def test_null_reasons_are_those_of_the_final_reading(tmp_path: Path) -> None:
    paths = _group(tmp_path)
    (paths["blkio"] / "blkio.throttle.io_service_bytes").write_text("Total 0\n")
    (paths["blkio"] / "blkio.throttle.io_serviced").write_text("Total 0\n")
    (paths["blkio"] / "blkio.throttle.read_bps_device").write_text("")
    (paths["blkio"] / "blkio.throttle.write_bps_device").write_text("")
    profiler = ResourceProfiler(0.05, gpu=False, families=("cgroup",), cgroup_paths=paths)
    profiler.start_profiling()
    # The device shows up once counted: the figure is no longer null, nor is its reason kept.
    for name in ("io_service_bytes", "io_serviced"):
        shutil.copy(DATA / "v1" / "blkio" / f"blkio.throttle.{name}", paths["blkio"])
    profile = profiler.stop_profiling()
    assert profile["io_stats"]["write_count"] == 51
    assert "io_write_bytes" not in profile["null_reasons"]


def test_a_job_shorter_than_top_every_ticks_gets_a_process_view(tmp_path: Path) -> None:
    import subprocess
    import sys

    paths = _group(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (paths["pids"] / "cgroup.procs").write_text(f"{proc.pid}\n")
        samples: list[dict[str, Any]] = []
        profiler = ResourceProfiler(
            0.05, samples.append, gpu=False, families=("cgroup",), cgroup_paths=paths
        )
        profiler.start_profiling()
        _wait(lambda: len(samples) >= 2, timeout=5)
        (paths["pids"] / "cgroup.procs").write_text("")  # the job ended
        profile = profiler.stop_profiling()
    finally:
        proc.kill()
        proc.wait()
    assert samples[0]["cg_top"] and samples[0]["proc_count"] == 1  # the first recorded tick
    assert [p["pid"] for p in profile["top_processes"]] == [proc.pid]
    assert profile["tasks"]["max_processes"] == 1
