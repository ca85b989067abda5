"""ResourceProfiler behaviour: timing, keys, concurrency, unavailable samplers."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from jobprobe.profiler import FAMILIES, SAMPLERS, ResourceProfiler, errors

from .conftest import spawn
from .fake_nvml import FakeNvml

DATA_PROC = Path(__file__).resolve().parents[2] / "data" / "proc"

SAMPLE_KEYS = {
    "t",
    "elapsed_s",
    "cpu_percent",
    "cpu_per_core",
    "load1",
    "mem_used_mb",
    "mem_available_mb",
    "mem_percent",
    "swap_used_mb",
    "proc_cpu_percent",
    "proc_cpu_seconds",
    "proc_rss_mb",
    "proc_count",
    "proc_threads",
    "proc_ctx_switches",
    "proc_read_bytes",
    "proc_write_bytes",
    "proc_read_bps",
    "proc_write_bps",
    "disk_read_bytes",
    "disk_write_bytes",
    "disk_read_count",
    "disk_write_count",
    "disk_read_bps",
    "disk_write_bps",
    "net_sent_bytes",
    "net_recv_bytes",
    "net_packets_sent",
    "net_packets_recv",
    "net_sent_bps",
    "net_recv_bps",
}


def wait_until(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_samples_count_jitter_and_quick_stop() -> None:
    samples: list[dict[str, Any]] = []
    profiler = ResourceProfiler(0.1, samples.append, gpu=False)
    profiler.start_profiling()
    wait_until(lambda: len(samples) >= 25, timeout=10)
    t = time.monotonic()
    profile = profiler.stop_profiling()
    assert time.monotonic() - t < 0.3
    expected = profile["duration_seconds"] / profile["sampling_interval_seconds"]
    assert abs(profile["samples_collected"] - expected) <= 1
    assert profile["sampling_jitter_ms"]["p99"] < 20
    assert profile["skipped_ticks"] == 0
    assert set(samples[-1]) >= SAMPLE_KEYS
    tick = samples[-2]  # the last is the final sample, maybe too close after a tick for rates
    assert tick["cpu_percent"] is not None
    assert len(tick["cpu_per_core"]) >= 1
    assert tick["proc_cpu_percent"] is not None
    assert samples[0]["proc_read_bytes"] >= 0  # counters start at 0 at profiling start
    ts = profile["timeseries"]
    assert "cpu_per_core" not in ts
    assert all(len(col) == profile["samples_collected"] for col in ts.values())
    assert ts["elapsed_s"] == sorted(ts["elapsed_s"])


def test_ticks_do_not_drift() -> None:
    times: list[float] = []
    profiler = ResourceProfiler(0.05, lambda s: times.append(s["elapsed_s"]), gpu=False)
    profiler.start_profiling()
    wait_until(lambda: len(times) >= 40, timeout=10)
    profiler.stop_profiling()
    # Tick k is due at k * interval from the start; no accumulating lag.
    for k, elapsed in enumerate(times[:40], start=1):
        assert elapsed == pytest.approx(k * 0.05, abs=0.02)


@pytest.mark.parametrize("interval", [0.05, 2.0])
def test_short_and_long_intervals(interval: float) -> None:
    samples: list[dict[str, Any]] = []
    profiler = ResourceProfiler(interval, samples.append, gpu=False)
    profiler.start_profiling()
    wait_until(lambda: len(samples) >= 2, timeout=3 * interval + 5)
    t = time.monotonic()
    profile = profiler.stop_profiling()
    assert time.monotonic() - t < 0.3  # even mid-way through a 2 s wait
    assert profile["samples_collected"] == len(samples)
    assert abs(profile["samples_collected"] - profile["duration_seconds"] / interval) <= 1


def test_two_profilers_at_once_do_not_interfere(reaped: list[Any]) -> None:
    busy = spawn("import time\nt = time.process_time()\nwhile time.process_time() - t < 1.2: pass")
    idle = spawn("import time; time.sleep(1.2)")
    reaped.extend([busy, idle])
    a, b = ResourceProfiler(0.1, gpu=False), ResourceProfiler(0.25, gpu=False)
    a.start_profiling(pid=busy.pid)
    b.start_profiling(pid=idle.pid)
    busy.wait()
    idle.wait()
    pa, pb = a.stop_profiling(), b.stop_profiling()
    assert pa["process_cpu"]["total_seconds"] > 0.9
    assert pb["process_cpu"]["total_seconds"] < 0.2
    assert pa["sampling_interval_seconds"] == 0.1 and pb["sampling_interval_seconds"] == 0.25
    assert pa["samples_collected"] > pb["samples_collected"]
    # Each computes its own system CPU percent (no shared psutil state): both have readings.
    assert pa["cpu"]["mean_percent"] is not None and pb["cpu"]["mean_percent"] is not None


def test_unavailable_samplers_are_reported_with_empty_sections(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="jobprobe.profiler")
    samples: list[dict[str, Any]] = []
    profiler = ResourceProfiler(
        0.05,
        samples.append,
        docker_base_url="unix:///nonexistent/docker.sock",
        nvml=FakeNvml(library_missing=True),  # what pynvml does on a machine without a GPU
    )
    profiler.start_profiling(container="nothing-here")
    wait_until(lambda: len(samples) >= 3, timeout=5)
    profile = profiler.stop_profiling()
    assert set(profile["unavailable"]) == {"gpu_nvidia", "container"}
    assert profile["gpu_stats"] == {}
    assert profile["container_stats"] == {}
    assert not any(k.startswith(("gpu", "container")) for k in profile["timeseries"])
    logged = [r for r in caplog.records if r.getMessage().startswith("sampler ")]
    assert len(logged) == 2  # once each, not per tick (at INFO the first time in a process)


def test_missing_root_process_leaves_process_sections_empty() -> None:
    samples: list[dict[str, Any]] = []
    profiler = ResourceProfiler(0.05, samples.append, gpu=False)
    profiler.start_profiling(pid=2**22 + 12345)
    wait_until(lambda: len(samples) >= 3, timeout=5)
    profile = profiler.stop_profiling()
    assert "process_tree" in profile["unavailable"]
    assert profile["process_cpu"] == {} and profile["io_stats"] == {}
    assert profile["cpu"]["mean_percent"] is not None


def test_failing_callback_does_not_stop_sampling(caplog: pytest.LogCaptureFixture) -> None:
    calls = []
    done = threading.Event()

    def boom(sample: dict[str, Any]) -> None:
        calls.append(sample)
        if len(calls) >= 5:
            done.set()
        raise RuntimeError("callback bug")

    profiler = ResourceProfiler(0.02, boom, gpu=False)
    profiler.start_profiling()
    assert done.wait(5)
    profiler.stop_profiling()
    assert len([r for r in caplog.records if "callback" in r.getMessage()]) == 1


def test_misuse_raises_profiler_errors() -> None:
    profiler = ResourceProfiler(gpu=False)
    with pytest.raises(errors.ProfilerStateError):
        profiler.stop_profiling()
    with pytest.raises(ValueError):
        ResourceProfiler(0)
    assert issubclass(errors.SamplerUnavailable, errors.ProfilerError)


def test_a_failing_tick_leaves_nulls_and_sampling_goes_on(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("stat", "meminfo", "diskstats"):
        (tmp_path / name).write_text((DATA_PROC / name).read_text())
    samples: list[dict[str, Any]] = []
    profiler = ResourceProfiler(
        0.02, samples.append, gpu=False, proc_root=str(tmp_path), families=("system", "disk")
    )
    profiler.start_profiling()
    wait_until(lambda: len(samples) >= 2, timeout=5)
    assert samples[-1]["disk_read_bytes"] == 0  # the recorded counters do not move
    good = (tmp_path / "diskstats").read_text()
    (tmp_path / "diskstats").write_text("254 0 vda not numbers at all x x x x x x x\n")
    wait_until(lambda: samples[-1]["disk_read_bytes"] is None, timeout=5)
    n = len(samples)
    wait_until(lambda: len(samples) >= n + 3, timeout=5)  # still ticking, still failing
    (tmp_path / "diskstats").write_text(good)
    wait_until(lambda: samples[-1]["disk_read_bytes"] == 0, timeout=5)
    profile = profiler.stop_profiling()
    assert samples[-1]["mem_used_mb"] is not None
    failures = [r for r in caplog.records if "sampler disk failed" in r.getMessage()]
    assert len(failures) == 1
    assert "process_tree" not in profile["unavailable"]  # not asked for
    assert profile["process_cpu"] == {}


def test_one_registry_names_every_family_once() -> None:
    assert FAMILIES == (
        "system",
        "cgroup",
        "process_tree",
        "disk",
        "host_network",
        "gpu_nvidia",
        "container",
    )
    assert [s.name for s in SAMPLERS] == list(FAMILIES)
    with pytest.raises(ValueError, match="unknown sampler families"):
        ResourceProfiler(0.1, families=("cpu",))
