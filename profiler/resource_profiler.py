"""``ResourceProfiler``: runs the samplers on the drift-free loop and builds the profile."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from jobprobe.profiler import errors, summary
from jobprobe.profiler.base import Sample, Sampler, Target
from jobprobe.profiler.cgroup import CgroupSampler
from jobprobe.profiler.container import ContainerSampler
from jobprobe.profiler.gpu_nvidia import NvidiaSampler
from jobprobe.profiler.loop import SamplingLoop
from jobprobe.profiler.process_tree import ProcessTreeSampler
from jobprobe.profiler.rates import Baseline, RateTracker
from jobprobe.profiler.registry import FAMILIES, SAMPLERS

log = logging.getLogger(__name__)

#: Sample keys left out of the columnar time series (lists per core, the top-process views).
_NOT_IN_TIMESERIES = frozenset({"cpu_per_core", "cg_top"})


class ResourceProfiler:
    """Sample a process tree (and optionally a container) every ``interval`` seconds.

    ``on_sample`` is called on the sampling thread with each sample dict (flat; ``None`` where a
    value could not be read). Profilers share no state: several can run at once.

    With ``cgroup_paths`` (the job's control group, keyed by controller as
    :func:`profiler.cgroup.read_totals` takes it), the job's CPU, memory, I/O and tasks come from
    the group's files each tick, whatever the number of processes, and the processes using the
    most CPU and memory are read every ``top_every`` ticks; the process-tree walk does not run.

    Without a group, for exact CPU and I/O totals of a child process, stop the profiler after the root has exited
    but before reaping it (``os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)``, then
    :meth:`stop_profiling`, then ``os.wait4``): the final sample then reads the zombie's final
    counters. Stopping after the reap is safe too; the root's last sampled reading is kept.
    """

    def __init__(
        self,
        interval: float = 0.5,
        on_sample: Callable[[dict[str, Any]], None] | None = None,
        *,
        gpu: bool = True,
        docker_base_url: str | None = None,
        families: Collection[str] = FAMILIES,
        proc_root: str = "/proc",
        nvml: Any = None,
        docker_client: Any = None,
        cgroup_paths: Mapping[str, Path | str] | None = None,
        top_every: int = 10,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        unknown = set(families) - set(FAMILIES)
        if unknown:
            raise ValueError(f"unknown sampler families: {sorted(unknown)}")
        self.interval = float(interval)
        self.on_sample = on_sample
        self._classes = tuple(
            c for c in SAMPLERS if c.name in families and (gpu or c is not NvidiaSampler)
        )
        self._target = Target(
            proc_root=proc_root,
            nvml=nvml,
            docker_base_url=docker_base_url,
            docker_client=docker_client,
            cgroup_paths=dict(cgroup_paths) if cgroup_paths else None,
            top_every=top_every,
        )
        self._top_views: list[list[dict[str, Any]]] = []
        self._samplers: list[Sampler] = []
        self.unavailable: dict[str, str] = {}
        self._failing: set[str] = set()
        self._lock = threading.Lock()
        self._loop: SamplingLoop | None = None
        self._columns: dict[str, list[Any]] = {}
        self._jitter: list[float] = []
        self._t0 = 0.0
        self._stopped = False

    # -- lifecycle -----------------------------------------------------------------------------

    def start_profiling(self, pid: int | None = None, container: str | None = None) -> None:
        """Start sampling the tree rooted at ``pid`` (default: this process) and ``container``."""
        if self._loop is not None:
            raise errors.ProfilerStateError("this profiler was already started")
        target = self._target
        target.pid, target.container = pid, container
        tree: ProcessTreeSampler | None = None
        group: CgroupSampler | None = None
        for cls in self._classes:
            try:
                sampler = cls.open(target)
            except errors.SamplerUnavailable as exc:
                self.unavailable[cls.name] = str(exc)
                _log_unavailable_once(cls.name, str(exc))
                if cls is CgroupSampler:
                    # The group cannot be read: the process tree is walked instead (it comes
                    # after in the registry), and the profile's accounting says so.
                    _warn_fallback_once(str(exc))
                    target.cgroup_paths = None
                continue
            if sampler is None:
                continue
            if isinstance(sampler, ProcessTreeSampler | CgroupSampler):
                target.tree_pids = sampler.pids
            if isinstance(sampler, ProcessTreeSampler):
                tree = sampler
            if isinstance(sampler, CgroupSampler):
                group = sampler
            self._samplers.append(sampler)
        keys = ["t", "elapsed_s"]
        rate_map: dict[str, tuple[str, float]] = {}
        counters: list[str] = []
        for s in self._samplers:
            keys.extend(s.keys)
            rate_map.update(s.rates)
            counters.extend(s.counters)
        keys.extend(rate for rate, _ in rate_map.values())
        self._keys = tuple(keys)
        self._columns = {k: [] for k in keys if k not in _NOT_IN_TIMESERIES}
        self._rates = RateTracker(rate_map, min_dt=self.interval / 2)
        self._baseline = Baseline(counters)
        self._tree = tree
        self._group = group
        self._t0 = time.monotonic()
        self._take(None, record=False)  # the baseline reading: counters' zero, rates' start
        self._loop = SamplingLoop(self.interval, self._tick, name=f"profiler-{pid or 'self'}")
        self._loop.start(self._t0)

    def stop_profiling(self) -> dict[str, Any]:
        """Stop sampling, take a final sample, release samplers and return the profile."""
        if self._loop is None:
            raise errors.ProfilerStateError("stop_profiling called before start_profiling")
        if self._stopped:
            raise errors.ProfilerStateError("this profiler was already stopped")
        self._stopped = True
        self._loop.stop()
        self._take(None, final=True)
        duration = time.monotonic() - self._t0
        for s in self._samplers:
            try:
                s.close()
            except Exception as exc:  # a failing close must not lose the profile
                log.warning("closing sampler %s failed: %s", s.name, exc)
        gpu = next((s for s in self._samplers if isinstance(s, NvidiaSampler)), None)
        before = None if self._tree is None else self._baseline.first("proc_cpu_seconds")
        profile = summary.build_profile(
            self._columns,
            duration_s=duration,
            interval_s=self.interval,
            jitter_s=self._jitter,
            unavailable=self.unavailable,
            gpu_devices=[] if gpu is None else gpu.devices,
            has_container=any(isinstance(s, ContainerSampler) for s in self._samplers),
            has_process_tree=self._tree is not None,
            tree_cpu_before_s=before,
            overhead_cpu_s=self._loop.thread_cpu_seconds,
            cgroup=None
            if self._group is None
            else summary.GroupInfo(
                accounting=self._group.accounting,
                reasons=self._group.reasons,
                top_views=self._top_views,
            ),
        )
        profile["skipped_ticks"] = self._loop.skipped
        profile["timeseries"] = self._columns
        return profile

    # -- sampling ------------------------------------------------------------------------------

    def _tick(self, scheduled: float) -> None:
        self._take(scheduled)

    def _take(self, scheduled: float | None, *, record: bool = True, final: bool = False) -> None:
        with self._lock:
            now = time.monotonic()
            if scheduled is not None:
                self._jitter.append(now - scheduled)
            sample: Sample = {"t": time.time(), "elapsed_s": now - self._t0}
            for s in self._samplers:
                sample.update(self._read(s, final))
            rates = self._rates.update(now, sample)
            self._baseline.apply(sample)
            sample.update(rates)
            for key in self._keys:
                sample.setdefault(key, None)
            if not record:
                return
            if sample.get("cg_top"):
                self._top_views.append(sample["cg_top"])
            for key, col in self._columns.items():
                col.append(sample[key])
        if self.on_sample is not None:
            try:
                self.on_sample(sample)
            except Exception as exc:  # the caller's callback must not stop sampling
                if "on_sample" not in self._failing:
                    self._failing.add("on_sample")
                    log.warning("on_sample callback failed (reported once): %r", exc)

    def _read(self, s: Sampler, final: bool) -> Sample:
        try:
            values = s.final_sample() if final else s.sample()
        except Exception as exc:  # one bad tick leaves None and the loop goes on
            if s.name not in self._failing:
                self._failing.add(s.name)
                log.warning("sampler %s failed (reported once, values null): %r", s.name, exc)
            return dict.fromkeys(s.keys)
        return values


_logged_unavailable: set[tuple[str, str]] = set()
_warned_fallback: list[bool] = []


def _warn_fallback_once(reason: str) -> None:
    """Warn once per process that a job's group could not be read (each profile says so)."""
    if _warned_fallback:
        log.info("job's control group unreadable, walking its processes: %s", reason)
        return
    _warned_fallback.append(True)
    log.warning("job's control group unreadable, walking its processes: %s", reason)


def _log_unavailable_once(family: str, reason: str) -> None:
    """Say at INFO, once per process, that a sampler is unavailable (each profile lists it)."""
    if (family, reason) in _logged_unavailable:
        log.debug("sampler %s unavailable: %s", family, reason)
        return
    _logged_unavailable.add((family, reason))
    log.info("sampler %s unavailable: %s", family, reason)
