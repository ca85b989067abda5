"""The cgroup sampler on a real v1 group: a process that burns CPU, starts a child that burns
more, and allocates memory, profiled through its group; the kernel's own figures (the group's
counters read here, ``wait4``'s rusage) are the truth: within 5 % for CPU, 10 % for memory.

Groups are made beneath this process's own group in each hierarchy, never at a root, and
removed at the end. Where none can be made (no v1 hierarchy, not root) the test fails under CI
and is skipped elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobprobe.profiler import ResourceProfiler, cgroup
from tests.polling import wait_for
from tests.services import unavailable

pytestmark = pytest.mark.integration

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("cpuacct", "memory", "blkio", "pids")
MB = 1024.0 * 1024.0

WORKLOAD = r"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6: pass"])
held = bytearray(300 * 1024 * 1024)
for i in range(0, len(held), 4096):
    held[i] = 1
t = time.process_time()
while time.process_time() - t < 1.2:
    pass
child.wait()
"""


def own_group(controller: str) -> Path | None:
    """This process's group in the v1 hierarchy of ``controller`` (``None`` where not mounted)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if controller in names.split(","):
            mount = CGROUP_ROOT / names
            if not mount.is_dir():
                mount = CGROUP_ROOT / controller
            group = mount / path.lstrip("/")
            return group if group.is_dir() else None
    return None


@pytest.fixture
def job_group() -> Iterator[dict[str, Path]]:
    """A fresh group in each v1 hierarchy, beneath this process's own; removed afterwards."""
    made: dict[str, Path] = {}
    try:
        for ctl in CONTROLLERS:
            parent = own_group(ctl)
            if parent is None:
                unavailable(f"no v1 {ctl} hierarchy holds this process")
                raise AssertionError("unreachable")
            group = parent / f"jobprobe-test-{os.getpid()}"
            try:
                group.mkdir()
            except OSError as exc:
                unavailable(f"cannot make a {ctl} group beneath {parent}: {exc}")
            made[ctl] = group
        # v1 blkio counts a device only once throttling is on for it: a no-op rule.
        for rule in cgroup.noop_throttle_rules():
            for name in ("blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device"):
                try:
                    (made["blkio"] / name).write_text(rule + "\n")
                except OSError:
                    continue  # a device without a request queue takes no rule
        yield made
    finally:
        for group in made.values():
            wait_for(
                lambda g=group: not (g / "cgroup.procs").read_text().split(),
                timeout=10,
                what=f"{group} to empty",
            )
            group.rmdir()


def test_sampler_figures_match_the_kernels(job_group: dict[str, Path]) -> None:
    procs = [str(g / "cgroup.procs") for g in job_group.values()]

    def join() -> None:  # in the child before exec: the job never runs outside its group
        for path in procs:
            with open(path, "w") as handle:
                handle.write("0")

    samples: list[dict[str, object]] = []
    profiler = ResourceProfiler(0.1, samples.append, gpu=False, cgroup_paths=job_group, top_every=2)
    proc = subprocess.Popen([sys.executable, "-c", WORKLOAD], preexec_fn=join)
    try:
        profiler.start_profiling(pid=proc.pid)
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        profile = profiler.stop_profiling()
        truth, _ = cgroup.read_totals_with_reasons(job_group)
        usage_s = int((job_group["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
        peak_mb = int((job_group["memory"] / "memory.max_usage_in_bytes").read_text()) / MB
    finally:
        _, status, rusage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0

    rusage_cpu = rusage.ru_utime + rusage.ru_stime  # the root and its reaped child
    cpu = profile["process_cpu"]
    assert cpu["source"] == "cgroup-v1"
    assert cpu["total_seconds"] == pytest.approx(usage_s, rel=0.05)
    assert cpu["total_seconds"] == pytest.approx(rusage_cpu, rel=0.05)
    assert cpu["user_seconds"] + cpu["system_seconds"] == pytest.approx(usage_s, rel=0.05)
    assert cpu["total_seconds"] >= 1.7  # 1.2 s + the child's 0.6 s, both charged
    assert cpu["max_percent"] is not None and cpu["max_percent"] > 50

    mem = profile["process_memory"]
    assert mem["peak_mb"] == pytest.approx(peak_mb, rel=0.10)
    # ru_maxrss (kB) is the largest process's resident peak: the 300 MB buffer and Python.
    assert mem["peak_mb"] == pytest.approx(rusage.ru_maxrss / 1024.0, rel=0.10)
    assert mem["anon_max_mb"] == pytest.approx(300.0, rel=0.10)
    assert truth["memory_peak_mb"] == pytest.approx(peak_mb)

    tasks = profile["tasks"]
    assert tasks["peak"] is not None and tasks["peak"] >= 2  # the root and its child
    assert profile["top_processes"], "the per-process view was read"
    assert profile["io_stats"]["read_mb"] is not None
    assert "process_tree" not in profile["unavailable"]
    assert samples[-1]["proc_cpu_seconds"] == pytest.approx(usage_s, rel=0.05)


SHARED = r"""
import mmap, os, time
shared = mmap.mmap(-1, 200 * 1024 * 1024, flags=mmap.MAP_SHARED)
for i in range(0, len(shared), 4096):
    shared[i] = 1
kids = []
for _ in range(5):  # five processes map the same 200 MB: the kernel charges it once
    pid = os.fork()
    if pid == 0:
        total = sum(shared[i] for i in range(0, len(shared), 4096))
        time.sleep(0.4)
        os._exit(0 if total else 1)
    kids.append(pid)
for pid in kids:
    assert os.waitpid(pid, 0)[1] == 0
"""

SPIKE = r"""
import time
spike = bytearray(200 * 1024 * 1024)  # touched and freed well inside one 0.5 s interval
for i in range(0, len(spike), 4096):
    spike[i] = 1
del spike
time.sleep(0.8)
"""


@pytest.mark.parametrize("workload", [SHARED, SPIKE], ids=["shared-mapping", "short-spike"])
def test_memory_peak_of_shared_mappings_and_spikes(
    job_group: dict[str, Path], workload: str
) -> None:
    """The group's peak counts a shared mapping once and catches a spike between samples: it
    is within 10 % of the largest process's own peak (ru_maxrss), never the sum over mappers."""
    procs = [str(g / "cgroup.procs") for g in job_group.values()]

    def join() -> None:
        for path in procs:
            with open(path, "w") as handle:
                handle.write("0")

    profiler = ResourceProfiler(0.5, gpu=False, families=("cgroup",), cgroup_paths=job_group)
    proc = subprocess.Popen([sys.executable, "-c", workload], preexec_fn=join)
    try:
        profiler.start_profiling(pid=proc.pid)
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        profile = profiler.stop_profiling()
    finally:
        _, status, rusage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0
    peak = profile["process_memory"]["peak_mb"]
    assert peak == pytest.approx(rusage.ru_maxrss / 1024.0, rel=0.10)
    assert profile["process_memory"]["max_mb"] == peak


@pytest.fixture
def unified_group() -> Iterator[Path]:
    """A fresh group in the v2 (unified) hierarchy beneath this process's own; removed after."""
    line = next(
        (x for x in Path("/proc/self/cgroup").read_text().splitlines() if x.startswith("0::")),
        None,
    )
    mount = CGROUP_ROOT / "unified" if (CGROUP_ROOT / "unified").is_dir() else CGROUP_ROOT
    if line is None or not (mount / "cgroup.procs").exists():
        unavailable("no cgroup v2 hierarchy mounted here")
        raise AssertionError("unreachable")
    group = mount / line[3:].lstrip("/") / f"jobprobe-test-{os.getpid()}-v2"
    try:
        group.mkdir()
    except OSError as exc:
        unavailable(f"cannot make a v2 group {group}: {exc}")
    try:
        yield group
    finally:
        wait_for(
            lambda: not (group / "cgroup.procs").read_text().split(),
            timeout=10,
            what=f"{group} to empty",
        )
        group.rmdir()


def test_v2_group_for_real(unified_group: Path) -> None:
    """The v2 code path on a real v2 group (here without controllers: CPU only, the rest null
    with reasons, tasks counted from cgroup.threads)."""
    procs = str(unified_group / "cgroup.procs")

    def join() -> None:
        with open(procs, "w") as handle:
            handle.write("0")

    paths = {"unified": unified_group}
    profiler = ResourceProfiler(0.1, gpu=False, families=("cgroup",), cgroup_paths=paths)
    proc = subprocess.Popen([sys.executable, "-c", WORKLOAD], preexec_fn=join)
    try:
        wait_for(lambda: (unified_group / "cgroup.procs").read_text().split(), 10, "the join")
        during, reasons = cgroup.read_totals_with_reasons(paths)
        profiler.start_profiling(pid=proc.pid)
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        profile = profiler.stop_profiling()
        stat = (unified_group / "cpu.stat").read_text().split()
        usage_s = int(stat[stat.index("usage_usec") + 1]) / 1e6
    finally:
        _, status, rusage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0
    assert profile["accounting"] == "cgroup-v2"
    cpu = profile["process_cpu"]
    assert cpu["total_seconds"] == pytest.approx(usage_s, rel=0.05)
    assert cpu["total_seconds"] == pytest.approx(rusage.ru_utime + rusage.ru_stime, rel=0.05)
    if (unified_group / "memory.current").exists():
        assert profile["process_memory"]["peak_mb"] is not None
    else:  # a v2 group without the memory controller: null with a reason, never 0
        assert profile["process_memory"]["peak_mb"] is None
        assert "memory" in profile["null_reasons"]["memory_peak_mb"]
    assert during["tasks_current"] is not None and during["tasks_current"] >= 1
    assert "tasks_current" not in reasons
    # No pids controller: the sampler counts cgroup.threads, and the peak is the largest count.
    assert profile["tasks"]["peak"] is not None and profile["tasks"]["peak"] >= 1
    assert profile["tasks"]["peak_source"] == "max of samples"
