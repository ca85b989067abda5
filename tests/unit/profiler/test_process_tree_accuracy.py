"""Accuracy of the process-tree figures against what the kernel reports at reap (wait4)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from jobprobe.profiler import ResourceProfiler

from .conftest import run_profiled, spawn

CHILDREN_CPU = """
import subprocess, sys
busy = "import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.15: pass"
for _ in range(20):
    subprocess.run([sys.executable, "-c", busy], check=True)
"""

HOLD_400MB = """
import time
block = bytearray(400 * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
time.sleep(1.6)
with open("/proc/self/status") as status:
    hwm_kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
with open({path!r}, "w") as out:
    out.write(hwm_kb)
"""

WRITE_64MB = """
import os, sys
with open({path!r}, "wb") as f:
    chunk = os.urandom(1024 * 1024)
    for _ in range(64):
        f.write(chunk)
    f.flush()
    os.fsync(f.fileno())
"""


def test_cpu_of_20_short_lived_children_matches_wait4() -> None:
    profile, ru, _ = run_profiled(CHILDREN_CPU)
    truth = ru.ru_utime + ru.ru_stime
    got = profile["process_cpu"]["total_seconds"]
    assert truth > 2.5
    assert got == pytest.approx(truth, rel=0.05)
    assert profile["process_cpu"]["user_seconds"] + profile["process_cpu"]["system_seconds"] == (
        pytest.approx(got)
    )
    # The per-tick percents integrate back to the CPU seconds (rates use the measured interval).
    ts = profile["timeseries"]
    integral, since = 0.0, 0.0
    for pct, t in zip(ts["proc_cpu_percent"], ts["elapsed_s"], strict=True):
        if pct is not None:
            integral += pct / 100 * (t - since)
            since = t
    assert integral == pytest.approx(got, rel=0.15)


def test_rss_of_400mb_workload_matches_the_kernels_peak(tmp_path: Path) -> None:
    # The truth is the workload's own VmHWM: ru_maxrss would also count the image it inherited
    # from this (possibly large) test process before exec.
    hwm_file = tmp_path / "hwm"
    profile, _, _ = run_profiled(HOLD_400MB.format(path=str(hwm_file)))
    truth_mb = int(hwm_file.read_text()) / 1024
    assert truth_mb > 400
    assert profile["process_memory"]["max_mb"] == pytest.approx(truth_mb, rel=0.10)
    assert profile["process_memory"]["peak_hwm_mb"] == pytest.approx(truth_mb, rel=0.05)
    assert profile["process_memory"]["min_mb"] > 0  # a zombie's empty RSS is not a reading


def test_write_of_64mb_with_fsync() -> None:
    with tempfile.TemporaryDirectory(dir=os.getcwd()) as d:  # a real disk, not tmpfs
        profile, _, _ = run_profiled(WRITE_64MB.format(path=os.path.join(d, "out.bin")))
    io = profile["io_stats"]
    assert io["write_mb"] == pytest.approx(64, rel=0.10)
    assert io["write_count"] >= 64
    assert io["total_io_mb"] == pytest.approx(io["read_mb"] + io["write_mb"])


def test_orphaned_grandchild_keeps_being_followed() -> None:
    # The middle process exits at once; its child is reparented away from the tree and burns
    # ~0.6 s of CPU. It is still followed (by pid and start time) and its time counted.
    code = """
import os, subprocess, sys, time
busy = "import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.6: pass"
r, w = os.pipe()
middle = subprocess.Popen([sys.executable, "-c",
    "import subprocess, sys; subprocess.Popen([sys.executable, '-c', sys.argv[1]], "
    "stdout=int(sys.argv[2]), pass_fds=[int(sys.argv[2])]); import time; time.sleep(0.3)",
    busy, str(w)],
    pass_fds=[w])
os.close(w)
time.sleep(0.7)
middle.wait()
os.read(r, 1)   # EOF when the orphan exits
"""
    profile, ru, _ = run_profiled(code, interval=0.1)
    own = ru.ru_utime + ru.ru_stime  # the root and the middle: the orphan was reaped by init
    assert profile["process_cpu"]["total_seconds"] >= own + 0.45


def test_profiling_this_process_by_default() -> None:
    profiler = ResourceProfiler(0.05, gpu=False)
    profiler.start_profiling()
    t = time.process_time()
    while time.process_time() - t < 0.3:
        pass
    profile = profiler.stop_profiling()
    assert profile["process_cpu"]["total_seconds"] == pytest.approx(0.3, abs=0.1)
    assert profile["process_memory"]["max_mb"] > 10
    assert profile["process_memory"]["min_mb"] > 10


def test_stop_after_root_was_reaped_keeps_last_reading() -> None:
    proc = spawn(CHILDREN_CPU.replace("range(20)", "range(4)"))
    profiler = ResourceProfiler(0.1, gpu=False)
    profiler.start_profiling(pid=proc.pid)
    _, _, ru = os.wait4(proc.pid, 0)
    proc.returncode = 0
    profile = profiler.stop_profiling()
    truth = ru.ru_utime + ru.ru_stime
    # Up to one interval of work after the last sighting is the caller's to add.
    assert truth - 0.25 <= profile["process_cpu"]["total_seconds"] <= truth + 0.02
    assert profile["timeseries"]["proc_count"][-1] == 0
    assert profile["timeseries"]["proc_rss_mb"][-1] is None
