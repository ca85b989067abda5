"""How much CPU the profiler itself costs, next to a plain psutil walk of the same tree.

Run: ``python bench/profiler_overhead.py [--seconds 10]``. For idle trees of 1, 10 and 50
``sleep`` processes, at 0.5 s and 0.1 s, three samplers run at once in this process, each on its
own thread, and each thread's own CPU time (``time.thread_time``) is divided by the wall seconds:

* ``full``: ``ResourceProfiler`` with every family that works here (system, tree, disk, network,
  and the NVIDIA GPUs where NVML finds one: the last line says whether it did);
* ``tree``: ``ResourceProfiler`` with the process-tree family only;
* ``psutil``: ``Process(root).children(recursive=True)`` and, per process under ``oneshot()``,
  ``cpu_times``, ``memory_info``, ``io_counters``, ``num_threads``, ``num_ctx_switches``.

Figures are percent of one core.

Then the cgroup mode, side by side in one run (where a v1 group can be made beneath this
process's own groups, as root): at 0.5 s, for 10 and 50 ``sleep`` processes in a real group,

* ``cgroup``: ``ResourceProfiler(cgroup_paths=...)`` with the cgroup family only (the job's
  figures from the group's files; the top processes every 10th tick);
* ``cg+sys``: the same with every family that works here (system, disk, host network, GPU);
* ``psutil``: the plain psutil walk above, of the same tree;

and the ratio psutil / cgroup (the issue's target: cgroup at most 0.15 % of one core and at least
5x cheaper). Last, the per-job cost in ms of making the job's groups (one per hierarchy),
joining a process to them and removing them.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from jobprobe.profiler import ResourceProfiler, cgroup
from jobprobe.profiler.loop import SamplingLoop

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: The hierarchies a job's group is made in (v1 here; ``unified`` is the v2 one).
HIERARCHIES = ("cpuacct", "memory", "blkio", "pids", "freezer", "unified")


def own_group(hierarchy: str) -> Path | None:
    """This process's group in ``hierarchy`` (``/proc/self/cgroup``), or None."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        hid, names, path = line.split(":", 2)
        if (hierarchy == "unified" and hid == "0") or hierarchy in names.split(","):
            group = CGROUP_ROOT / hierarchy / path.lstrip("/")
            return group if group.is_dir() else None
    return None


def make_groups(name: str) -> dict[str, Path]:
    """A group named ``name`` beneath this process's own group in each hierarchy, with the
    no-op blkio throttle rules that make v1 I/O counting exact (see noop_throttle_rules)."""
    made: dict[str, Path] = {}
    for h in HIERARCHIES:
        parent = own_group(h)
        if parent is None:
            continue
        (parent / name).mkdir()
        made[h] = parent / name
    if "blkio" in made:
        for rule in cgroup.noop_throttle_rules():
            for f in ("blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device"):
                try:
                    (made["blkio"] / f).write_text(rule)
                except OSError:
                    continue  # a device without a request queue takes no rule
    return made


def join(groups: dict[str, Path], pid: int) -> None:
    """Move ``pid`` into every group."""
    for g in groups.values():
        (g / "cgroup.procs").write_text(str(pid))


def remove_groups(groups: dict[str, Path]) -> None:
    """Remove the (empty) groups."""
    for g in groups.values():
        g.rmdir()


def joiner(groups: dict[str, Path]) -> Callable[[], None]:
    """A ``preexec_fn`` that puts the child in ``groups`` before it execs."""
    procs = [str(g / "cgroup.procs") for g in groups.values()]

    def run() -> None:
        for path in procs:
            with open(path, "w") as handle:
                handle.write("0")

    return run


def idle_tree(n: int, preexec: Callable[[], None] | None = None) -> subprocess.Popen[bytes]:
    """A tree of ``n`` sleeping processes (a shell and n-1 sleeps, or one sleep), in its own
    process group, its output not ours (a sleep holding our stdout open would keep a pipe
    reading it, such as ``| tail``, waiting for the sleep's end)."""
    argv = (
        ["sleep", "600"] if n == 1 else ["sh", "-c", " ".join(["sleep 600 &"] * (n - 1)) + " wait"]
    )
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=preexec,
    )
    if n == 1:
        return proc
    deadline = time.monotonic() + 10
    while len(psutil.Process(proc.pid).children()) < n - 1:
        if time.monotonic() > deadline:
            raise RuntimeError(f"tree of {n} did not start")
        time.sleep(0.01)
    return proc


def psutil_walk(root: int) -> None:
    """One tick of the plain psutil approach."""
    parent = psutil.Process(root)
    for p in [parent, *parent.children(recursive=True)]:
        try:
            with p.oneshot():
                p.cpu_times()
                p.memory_info()
                p.io_counters()
                p.num_threads()
                p.num_ctx_switches()
        except psutil.NoSuchProcess:
            pass


def cell(n: int, interval: float, seconds: float) -> dict[str, Any]:
    """Percent of one core spent by each approach on a tree of ``n`` at ``interval``."""
    tree = idle_tree(n)
    try:
        full = ResourceProfiler(interval)
        only_tree = ResourceProfiler(interval, gpu=False, families=("process_tree",))
        walk = SamplingLoop(interval, lambda _: psutil_walk(tree.pid), name="psutil-walk")
        t0 = time.monotonic()
        full.start_profiling(pid=tree.pid)
        only_tree.start_profiling(pid=tree.pid)
        walk.start(time.monotonic())
        time.sleep(seconds)  # the bench's measuring window, nothing is awaited
        walk.stop()
        pf, pt = full.stop_profiling(), only_tree.stop_profiling()
        wall = time.monotonic() - t0
        assert pf["process_memory"]["max_mb"] is not None
        return {
            "full": 100 * pf["profiler_cpu_seconds"] / wall,
            "tree": 100 * pt["profiler_cpu_seconds"] / wall,
            "psutil": 100 * walk.thread_cpu_seconds / wall,
            "ticks": pt["samples_collected"],
            "gpu": pf["unavailable"].get("gpu_nvidia", "included"),
        }
    finally:
        os.killpg(tree.pid, signal.SIGKILL)  # the shell and its sleeps
        tree.wait()


def cgroup_cell(n: int, interval: float, seconds: float) -> dict[str, Any]:
    """Percent of one core: the cgroup mode, with the other families, and the psutil walk."""
    groups = make_groups(f"jobprobe-bench-{os.getpid()}-{n}")
    tree = None
    try:
        tree = idle_tree(n, joiner(groups))
        paths = {h: g for h, g in groups.items() if h != "freezer"}
        only = ResourceProfiler(interval, gpu=False, families=("cgroup",), cgroup_paths=paths)
        full = ResourceProfiler(interval, cgroup_paths=paths)
        walk = SamplingLoop(interval, lambda _: psutil_walk(tree.pid), name="psutil-walk")
        t0 = time.monotonic()
        only.start_profiling(pid=tree.pid)
        full.start_profiling(pid=tree.pid)
        walk.start(time.monotonic())
        time.sleep(seconds)  # the bench's measuring window, nothing is awaited
        walk.stop()
        po, pf = only.stop_profiling(), full.stop_profiling()
        wall = time.monotonic() - t0
        assert po["tasks"]["current"] == n, po["tasks"]
        return {
            "cgroup": 100 * po["profiler_cpu_seconds"] / wall,
            "full": 100 * pf["profiler_cpu_seconds"] / wall,
            "psutil": 100 * walk.thread_cpu_seconds / wall,
            "ticks": po["samples_collected"],
        }
    finally:
        if tree is not None:
            os.killpg(tree.pid, signal.SIGKILL)
            tree.wait()
        deadline = time.monotonic() + 10
        while any((g / "cgroup.procs").read_text().split() for g in groups.values()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"groups {groups} did not empty")
            time.sleep(0.01)
        remove_groups(groups)


def group_lifecycle(runs: int = 20) -> dict[str, float]:
    """Median ms to make a job's groups, join a (stopped) process to them, and remove them."""
    make, enter, remove = [], [], []
    for i in range(runs):
        proc = subprocess.Popen(["sleep", "60"])
        try:
            t = time.perf_counter()
            groups = make_groups(f"jobprobe-bench-{os.getpid()}-life-{i}")
            make.append(time.perf_counter() - t)
            t = time.perf_counter()
            join(groups, proc.pid)
            enter.append(time.perf_counter() - t)
        finally:
            proc.kill()
            proc.wait()
        deadline = time.monotonic() + 10
        while any((g / "cgroup.procs").read_text().split() for g in groups.values()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"groups {groups} did not empty")
            time.sleep(0.001)
        t = time.perf_counter()
        remove_groups(groups)
        remove.append(time.perf_counter() - t)
    ms = {k: 1000 * statistics.median(v) for k, v in (("make", make), ("join", enter))}
    ms["remove"] = 1000 * statistics.median(remove)
    ms["hierarchies"] = float(len(groups))
    return ms


def cgroup_table(seconds: float) -> None:
    """Print the cgroup mode beside the psutil walk, and the group's per-job cost."""
    try:
        groups = make_groups(f"jobprobe-bench-{os.getpid()}-probe")
    except OSError as exc:
        print(f"cgroup mode: no group can be made here ({exc}); not measured")
        return
    remove_groups(groups)
    print()
    print(f"cgroup mode, groups in: {', '.join(groups)}; % of one core")
    header = (
        f"{'interval':>8} {'procs':>5} {'ticks':>5} {'cgroup %':>9} {'cg+sys %':>9} "
        f"{'psutil %':>9} {'psutil/cgroup':>13}"
    )
    print(header)
    print("-" * len(header))
    for n in (10, 50):
        r = cgroup_cell(n, 0.5, seconds)
        print(
            f"{0.5:>8} {n:>5} {r['ticks']:>5.0f} {r['cgroup']:>9.3f} {r['full']:>9.3f} "
            f"{r['psutil']:>9.3f} {r['psutil'] / r['cgroup']:>13.1f}"
        )
    life = group_lifecycle()
    print(
        f"per-job group cost (median of 20, {life['hierarchies']:.0f} hierarchies): make "
        f"{life['make']:.2f} ms, join {life['join']:.2f} ms, remove {life['remove']:.2f} ms, "
        f"total {life['make'] + life['join'] + life['remove']:.2f} ms"
    )


def main() -> None:
    """Print the overhead table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="window per 0.5 s cell")
    parser.add_argument("--cgroup-only", action="store_true", help="only the cgroup table")
    args = parser.parse_args()
    if args.cgroup_only:
        cgroup_table(args.seconds)
        return
    print(f"psutil {psutil.__version__}, {psutil.cpu_count()} CPUs; % of one core")
    header = (
        f"{'interval':>8} {'procs':>5} {'ticks':>5} {'full %':>8} {'tree %':>8} "
        f"{'psutil %':>9} {'psutil/tree':>11} {'psutil/full':>11}"
    )
    print(header)
    print("-" * len(header))
    gpu = ""
    for interval in (0.5, 0.1):
        seconds = args.seconds if interval >= 0.5 else args.seconds / 2
        for n in (1, 10, 50):
            r = cell(n, interval, seconds)
            gpu = r["gpu"]
            print(
                f"{interval:>8} {n:>5} {r['ticks']:>5.0f} {r['full']:>8.3f} {r['tree']:>8.3f} "
                f"{r['psutil']:>9.3f} {r['psutil'] / r['tree']:>11.1f} "
                f"{r['psutil'] / r['full']:>11.1f}"
            )
    print(f"NVIDIA GPU sampler in 'full': {gpu}")
    cgroup_table(args.seconds)


if __name__ == "__main__":
    main()
