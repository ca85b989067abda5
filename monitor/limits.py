"""A job's resource limits (memory, CPUs, tasks): parsed and checked here, once.

The CLI, the Python API, the tool registry and the settings all go through ``parse`` and
``resolve``; a bad value is a ``LimitError`` whose message is one line a person can act on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jobprobe.monitor import errors

_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_MEM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)
#: Below this a job cannot even start its interpreter; a typo (``--mem 4`` for 4 GiB) is caught.
MIN_MEM_BYTES = 4 * 2**20


@dataclass(frozen=True)
class Limits:
    """Limits asked for one job; None means no limit of that kind."""

    mem_bytes: int | None = None
    cpus: float | None = None
    max_procs: int | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.mem_bytes, self.cpus, self.max_procs))

    def as_record(self) -> dict[str, Any]:
        """The ``limits`` field of a job record (without the applied/reason part)."""
        return {
            "mem_bytes": self.mem_bytes,
            "mem_mb": None if self.mem_bytes is None else round(self.mem_bytes / 2**20, 3),
            "cpus": self.cpus,
            "max_procs": self.max_procs,
        }


def host_memory_bytes() -> int:
    """Physical memory of this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def parse_mem(
    value: str | int | float | None, *, what: str = "--mem", host: bool = True
) -> int | None:
    """Bytes from ``4G``, ``512M``, ``1.5GiB``, ``1073741824`` (binary units); None passes.

    ``host`` also refuses more than this machine's memory (not for a registry, which workers
    of other sizes read too)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise errors.LimitError(f"{what} must be a size such as 512M or 4G (got {value!r})")
    if isinstance(value, int | float):
        number, unit = float(value), ""
    else:
        match = _MEM.match(str(value))
        if match is None:
            raise errors.LimitError(
                f"{what} must be a size such as 512M or 4G (got {value!r}); units: K, M, G, T"
            )
        number, unit = float(match.group(1)), match.group(2).upper()
    size = int(number * _UNITS[unit])
    if size < MIN_MEM_BYTES:
        raise errors.LimitError(f"{what} must be at least 4M (got {value!r})")
    total = host_memory_bytes()
    if host and size > total:
        raise errors.LimitError(
            f"{what} {value} is more than this host's {total / 2**30:.1f} GiB of memory"
        )
    return size


def parse_cpus(
    value: str | int | float | None, *, what: str = "--cpus", host: bool = True
) -> float | None:
    """A CPU quota in cores (``1.5``), more than 0 and (``host``) at most this host's CPUs."""
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        cpus = float(value)
    except (TypeError, ValueError):
        raise errors.LimitError(
            f"{what} must be a number of CPUs such as 1.5 (got {value!r})"
        ) from None
    if not cpus > 0 or cpus != cpus:  # also NaN
        raise errors.LimitError(f"{what} must be more than 0 (got {value!r})")
    cores = os.cpu_count() or 1
    if host and cpus > cores:
        raise errors.LimitError(f"{what} {value} is more than this host's {cores} CPUs")
    if cpus < 0.01:
        raise errors.LimitError(f"{what} must be at least 0.01 (got {value!r})")
    return round(cpus, 3)


def parse_max_procs(value: str | int | None, *, what: str = "--max-procs") -> int | None:
    """A number of tasks (processes and threads), a whole number of at least 1."""
    if value is None:
        return None
    try:
        if isinstance(value, bool) or (isinstance(value, float) and value != int(value)):
            raise ValueError
        procs = int(value)
    except (TypeError, ValueError):
        raise errors.LimitError(
            f"{what} must be a whole number such as 64 (got {value!r})"
        ) from None
    if procs < 1:
        raise errors.LimitError(f"{what} must be 1 or more (got {value!r})")
    return procs


def parse(
    *, mem: str | int | float | None = None, cpus: str | int | float | None = None,
    max_procs: str | int | None = None, source: str = "", host: bool = True,
) -> Limits:  # fmt: skip
    """Limits from their written forms; ``source`` prefixes messages (e.g. a registry's name);
    ``host``: also within this machine's memory and CPUs."""
    prefix = f"{source}: " if source else ""
    return Limits(
        mem_bytes=parse_mem(mem, what=f"{prefix}{'mem' if source else '--mem'}", host=host),
        cpus=parse_cpus(cpus, what=f"{prefix}{'cpus' if source else '--cpus'}", host=host),
        max_procs=parse_max_procs(
            max_procs, what=f"{prefix}{'max_procs' if source else '--max-procs'}"
        ),
    )


def resolve(asked: Limits, *defaults: Limits) -> Limits:
    """Each limit: the one asked for, else the first default that sets it (tool, then settings)."""

    def first(name: str) -> Any:
        for candidate in (asked, *defaults):
            value = getattr(candidate, name)
            if value is not None:
                return value
        return None

    return Limits(mem_bytes=first("mem_bytes"), cpus=first("cpus"), max_procs=first("max_procs"))


def for_submit(
    *, mem: str | int | float | None, cpus: str | int | float | None, max_procs: str | int | None,
    tool: Limits, defaults: Mapping[str, Any], local: bool, cgroup_parent: str | None = None,
) -> Limits:  # fmt: skip
    """The limits a job is stored with: asked > ``tool``'s > ``defaults`` (settings).

    ``local`` (embedded mode: the job runs on this host) also refuses limits this host's
    control groups cannot apply; a worker elsewhere reports them as not applied instead.
    """
    asked = parse(mem=mem, cpus=cpus, max_procs=max_procs)
    settings = parse(
        **{k: defaults.get(k) for k in ("mem", "cpus", "max_procs")}, source="settings", host=False
    )
    chosen = resolve(asked, tool, settings)
    # a default from the registry or the settings must fit this host too
    parse(mem=chosen.mem_bytes, cpus=chosen.cpus, source="the job's default limits")
    if local and chosen:
        from jobprobe.monitor import cgroups

        problem = cgroups.Cgroups(cgroup_parent).limits_problem(chosen)
        if problem:
            raise errors.LimitError(problem)
    return chosen
