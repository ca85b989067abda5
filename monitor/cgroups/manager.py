"""Making job groups beneath the worker's own group, and removing those a dead worker left.

The parent of the job groups is, in each hierarchy, ``<own group>/jobprobe`` by default (the
worker's own group is where it was started: systemd's delegated unit, a container's group, or
the machine's). ``parent`` changes it: a relative path is taken beneath the own group, an
absolute one is a path in the hierarchy and must lie beneath the own group too. Jobs are never
moved out of the subtree the worker runs in, and no hierarchy root's control files are written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from pathlib import Path, PurePosixPath

from jobprobe.monitor.cgroups import base, discovery, errors, v1, v2
from jobprobe.monitor.cgroups.fallback import ProcessTreeGroup
from jobprobe.monitor.limits import Limits

log = logging.getLogger(__name__)

DEFAULT_PARENT = "jobprobe"
GROUP_NAME = re.compile(r"^job-[A-Za-z0-9]+-\d+$")
_V2_CONTROLLERS = ("cpu", "memory", "io", "pids")
_warned: set[str] = set()


def warn_once(message: str) -> None:
    """Log ``message`` as a warning the first time this process sees it."""
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)


def group_name(job_id: str, attempt: int) -> str:
    """The directory name of one job attempt's group."""
    return f"job-{re.sub(r'[^A-Za-z0-9]', '', job_id)}-{int(attempt)}"


class Cgroups:
    """Job groups for one worker process: ``create`` one per attempt, ``cleanup_stale``.

    ``hierarchies`` (default: discovered from ``proc_root``) is injectable for tests.
    ``enabled=False`` always gives the process-tree fallback.
    """

    def __init__(
        self, parent: str | None = None, *, proc_root: Path = Path("/proc"),
        hierarchies: list[discovery.Hierarchy] | None = None, enabled: bool = True,
    ) -> None:  # fmt: skip
        self.enabled = enabled
        found = discovery.discover(proc_root) if hierarchies is None and enabled else hierarchies
        self.hierarchies = list(found or [])
        self.parent = parent or DEFAULT_PARENT

    def parent_dir(self, hierarchy: discovery.Hierarchy) -> Path | None:
        """Where this hierarchy's job groups go; None when the setting points outside the
        worker's own subtree."""
        wanted = PurePosixPath(self.parent)
        if not wanted.is_absolute():
            path = hierarchy.own / wanted
        else:
            path = hierarchy.mount.joinpath(*wanted.parts[1:])
        resolved = Path(os.path.normpath(path))
        if resolved != hierarchy.own and hierarchy.own not in resolved.parents:
            warn_once(
                f"JOBPROBE_CGROUP_PARENT={self.parent} is outside the worker's own group "
                f"{hierarchy.own}: not used in that hierarchy (jobs are never moved out of it)"
            )
            return None
        if resolved == hierarchy.mount:
            warn_once(f"JOBPROBE_CGROUP_PARENT={self.parent} is a hierarchy root: not used")
            return None
        return resolved

    def _parents(self) -> list[tuple[discovery.Hierarchy, Path]]:
        out = []
        for hierarchy in self.hierarchies:
            path = self.parent_dir(hierarchy)
            if path is None:
                continue
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                warn_once(
                    f"control group {path} cannot be made ({exc.strerror or exc}): "
                    f"no per-job {hierarchy.key} group"
                )
                continue
            if hierarchy.version == 2:
                _enable_controllers(hierarchy, path)
            out.append((hierarchy, path))
        return out

    def limits_problem(self, limits: Limits) -> str | None:
        """Why ``limits`` could not be applied to a job group made here (None: they can)."""
        if not limits:
            return None
        have: set[str] = set()
        for hierarchy, parent in self._parents() if self.enabled else []:
            if hierarchy.version == 1:
                have |= hierarchy.controllers
                continue
            with contextlib.suppress(OSError):
                have |= set((parent / "cgroup.subtree_control").read_text().split())
        needed = {"memory": limits.mem_bytes, "cpu": limits.cpus, "pids": limits.max_procs}
        missing = [name for name, value in needed.items() if value is not None and name not in have]
        if not missing:
            return None
        return (
            f"this host cannot apply the limits: no writable {', '.join(missing)} control group "
            "for jobs (see docs/cgroups.md)"
        )

    def create(self, job_id: str, attempt: int) -> base.JobGroup:
        """The group of one job attempt, made in every usable hierarchy, locked by this process.

        Never raises: where no group can be made, the process-tree fallback is returned (and
        the reason logged once).
        """
        if not self.enabled:
            return ProcessTreeGroup()
        parents = self._parents()
        if not parents:
            warn_once(
                "no writable control-group hierarchy for job groups: jobs use process-tree "
                "accounting (give the worker a delegated cgroup subtree, see docs/cgroups.md)"
            )
            return ProcessTreeGroup()
        try:
            return self._create(parents, group_name(job_id, attempt))
        except (OSError, errors.CgroupError) as exc:  # left unlocked: the next cleanup removes it
            warn_once(
                f"a job group could not be made ({exc}): the job uses process-tree accounting"
            )
            return ProcessTreeGroup()

    def _create(self, parents: list[tuple[discovery.Hierarchy, Path]], name: str) -> base.JobGroup:
        with _locked(parents[0][1]):
            made: dict[str, Path] = {}
            v2_only: Path | None = None
            for hierarchy, parent in parents:
                path = parent / name
                try:
                    path.mkdir(exist_ok=True)
                except OSError as exc:
                    warn_once(f"control group {path} cannot be made ({exc.strerror or exc})")
                    continue
                if hierarchy.version == 2:
                    made["unified"] = path
                    v2_only = path
                else:
                    made.update(dict.fromkeys(hierarchy.controllers, path))
            if not made:
                warn_once("no job group could be made: jobs use process-tree accounting")
                return ProcessTreeGroup()
            group: base.JobGroup
            if v2_only is not None and len(made) == 1:
                group = v2.V2Group(v2_only)
            else:
                group = v1.V1Group(made)
                problem = group.count_block_io()
                if problem:
                    warn_once(f"job groups' block I/O will not be counted: {problem}")
            group.lock()
        return group

    def cleanup_stale(self) -> int:
        """Kill and remove the groups under the parent that no live worker holds; returns how
        many were removed. A group's lock dies with the worker that ran it. Never raises."""
        parents = [(h, p) for h, p in ((h, self.parent_dir(h)) for h in self.hierarchies) if p]
        parents = [(h, p) for h, p in parents if p.is_dir()]
        if not parents:
            return 0
        try:
            return self._cleanup(parents)
        except (OSError, errors.CgroupError) as exc:
            warn_once(f"stale job groups could not be cleaned up: {exc}")
            return 0

    def _cleanup(self, parents: list[tuple[discovery.Hierarchy, Path]]) -> int:
        stale: dict[str, dict[str, Path]] = {}
        live: set[str] = set()
        with _locked(parents[0][1]):
            locks: list[int] = []
            try:
                for hierarchy, parent in parents:
                    for entry in _subdirs(parent):
                        if entry.name in live or not GROUP_NAME.match(entry.name):
                            continue
                        try:
                            fd = base.lock_dir(entry, block=False)
                        except OSError:
                            continue
                        if fd is None:
                            live.add(entry.name)
                            stale.pop(entry.name, None)
                            continue
                        locks.append(fd)
                        key = "unified" if hierarchy.version == 2 else None
                        paths = stale.setdefault(entry.name, {})
                        for controller in [key] if key else sorted(hierarchy.controllers):
                            paths[controller] = entry
                removed = 0
                for name, paths in stale.items():
                    group = v1.V1Group(paths)
                    group.kill_all()
                    if group.remove():
                        removed += 1
                    else:
                        warn_once(f"stale control group {name} could not be removed")
            finally:
                for fd in locks:
                    with contextlib.suppress(OSError):
                        os.close(fd)
        if removed:
            log.info("removed %d control group(s) left by a dead worker", removed)
        return removed


def _subdirs(parent: Path) -> list[Path]:
    try:
        return [p for p in parent.iterdir() if p.is_dir()]
    except OSError:
        return []


def _enable_controllers(hierarchy: discovery.Hierarchy, parent: Path) -> None:
    """On v2, pass the controllers down from the worker's own group to the job groups: enable
    them in each ``cgroup.subtree_control`` from the own group (unless it is the hierarchy's
    root) to ``parent``. The kernel refuses it in a group that holds processes (the worker's
    own, usually): then job groups count CPU (``cpu.stat`` needs no controller) and can be
    killed, but have no memory figures or limits, and one warning says so."""
    chain = [
        parent,
        *[p for p in parent.parents if hierarchy.own in p.parents or p == hierarchy.own],
    ]
    chain = [p for p in reversed(chain) if p != hierarchy.mount]
    refused: dict[str, str] = {}
    for path in chain:
        try:
            have = set((path / "cgroup.controllers").read_text().split())
            enabled = set((path / "cgroup.subtree_control").read_text().split())
        except OSError:
            continue
        for controller in _V2_CONTROLLERS:
            if controller in have and controller not in enabled and controller not in refused:
                problem = base.try_write(path / "cgroup.subtree_control", f"+{controller}")
                if problem:
                    refused[controller] = problem
    if refused:
        warn_once(
            f"job groups get no {', '.join(refused)} controller ({next(iter(refused.values()))}): "
            "no memory figures or limits for them (see docs/cgroups.md)"
        )


class _locked:
    """An exclusive flock on a parent directory while groups are made or cleaned up."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def __enter__(self) -> None:
        try:
            self.fd = base.lock_dir(self.path, block=True)
        except OSError as exc:
            raise errors.CgroupError(f"cannot lock {self.path}: {exc}") from exc

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)
