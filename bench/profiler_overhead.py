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
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import time
from typing import Any

import psutil

from jobprobe.profiler import ResourceProfiler
from jobprobe.profiler.loop import SamplingLoop


def idle_tree(n: int) -> subprocess.Popen[bytes]:
    """A tree of ``n`` sleeping processes (a shell and n-1 sleeps, or one sleep), in its own
    process group, its output not ours (a sleep holding our stdout open would keep a pipe
    reading it, such as ``| tail``, waiting for the sleep's end)."""
    argv = (
        ["sleep", "600"] if n == 1 else ["sh", "-c", " ".join(["sleep 600 &"] * (n - 1)) + " wait"]
    )
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
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


def main() -> None:
    """Print the overhead table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="window per 0.5 s cell")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
