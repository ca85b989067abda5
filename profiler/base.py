"""The sampler contract: one small class per metric family."""

from __future__ import annotations

import abc
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Sample = dict[str, Any]


@dataclass
class Target:
    """What one profile watches, and the handles its samplers may be given (a shared Docker
    client, a recorded NVML in tests)."""

    pid: int | None = None
    container: str | None = None
    proc_root: str = "/proc"
    nvml: Any = None
    docker_base_url: str | None = None
    docker_client: Any = None
    #: The live pids of the job's tree, once a process-tree sampler runs (GPU memory per job).
    tree_pids: Callable[[], Collection[int]] | None = None
    #: The job's control group, keyed by controller (``"memory"``, ``"unified"``, ...): its
    #: figures then come from the group, not from walking the process tree.
    cgroup_paths: Mapping[str, Path | str] | None = None
    #: With a group, the per-process view (top processes) is read every this many ticks.
    top_every: int = 10


class Sampler(abc.ABC):
    """One metric family.

    ``__init__`` acquires what the sampler needs (handles, clients) or raises
    :class:`profiler.errors.SamplerUnavailable`; :meth:`sample` returns a flat mapping of raw
    readings (counters raw, never rates); :meth:`close` releases what ``__init__`` acquired.
    """

    #: Short name used in ``unavailable`` and in log lines.
    name: str = "sampler"
    #: Every key :meth:`sample` may return; a failed tick reports these as ``None``.
    keys: tuple[str, ...] = ()
    #: Raw cumulative counters whose first reading is subtracted (values since start).
    counters: tuple[str, ...] = ()
    #: counter key -> (rate key, scale): the rate is ``scale * delta / elapsed seconds``.
    rates: Mapping[str, tuple[str, float]] = {}

    @classmethod
    @abc.abstractmethod
    def open(cls, target: Target) -> Sampler | None:
        """A sampler of this family for ``target``; None when the target has nothing of the
        family to watch (no container). Raises ``SamplerUnavailable`` as ``__init__`` does."""

    @abc.abstractmethod
    def sample(self) -> Sample:
        """Read the metric family once and return a flat mapping (``None`` where unreadable)."""

    def final_sample(self) -> Sample:
        """The reading taken when profiling stops; a sampler that skips costly fields on some
        ticks reads them all here."""
        return self.sample()

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release handles; the default has nothing to release."""
