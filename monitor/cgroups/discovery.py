"""Which control-group hierarchies this process sees, and which group it is in, in each.

Pure parsers of ``/proc/self/cgroup`` and ``/proc/self/mountinfo`` plus one reader that takes
an injectable ``proc_root``, so both are tested on recorded files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

#: The v1 controllers a job group is made in (others, e.g. cpuset and devices, are left alone).
V1_CONTROLLERS = ("cpu", "cpuacct", "memory", "blkio", "pids", "freezer")


@dataclass(frozen=True)
class Hierarchy:
    """One mounted hierarchy: v2 (``controllers`` are those the kernel offers) or v1."""

    version: int
    controllers: frozenset[str]
    mount: Path
    own: Path  # the directory of the group this process is in

    @property
    def key(self) -> str:
        """How a job group's ``paths`` names this hierarchy's directory."""
        return "unified" if self.version == 2 else ",".join(sorted(self.controllers))


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """Own group path by controller (``"memory"``, ...; the v2 line under ``""``)."""
    groups: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if not controllers:
            groups[""] = path
        for name in controllers.split(","):
            if name:
                groups[name] = path
    return groups


@dataclass(frozen=True)
class Mount:
    """A cgroup filesystem mount from mountinfo."""

    version: int
    root: str  # the path of the hierarchy that is mounted (``/`` unless bind-mounted)
    point: Path
    controllers: frozenset[str]


def _unescape(field: str) -> str:
    return (
        field.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
    )


def parse_mountinfo(text: str) -> list[Mount]:
    """The cgroup and cgroup2 mounts listed in a mountinfo text."""
    mounts: list[Mount] = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        fstype, options = tail[0], tail[2].split(",")
        if fstype == "cgroup2":
            mounts.append(Mount(2, _unescape(fields[3]), Path(_unescape(fields[4])), frozenset()))
        elif fstype == "cgroup":
            names = frozenset(o for o in options if o in V1_CONTROLLERS)
            if names:
                mounts.append(Mount(1, _unescape(fields[3]), Path(_unescape(fields[4])), names))
    return mounts


def _own_dir(mount: Mount, own: str) -> Path | None:
    """Where ``own`` (a path in the hierarchy) lies under ``mount``; None if outside it."""
    rel = PurePosixPath(own)
    root = PurePosixPath(mount.root)
    # inside a cgroup namespace the own path is already relative to the mounted root
    if root != PurePosixPath("/") and (rel == root or root in rel.parents):
        rel = PurePosixPath("/") / rel.relative_to(root)
    parts = [p for p in rel.parts if p not in ("/", "")]
    if ".." in parts:
        return None
    return mount.point.joinpath(*parts)


def hierarchies(
    mounts: list[Mount], own: dict[str, str], *, v2_controllers: str = ""
) -> list[Hierarchy]:
    """The hierarchies a job group can be made in, each with this process's own directory.

    A controller mounted twice counts once (the first mount). ``v2_controllers`` is the
    content of the v2 own group's ``cgroup.controllers``.
    """
    found: list[Hierarchy] = []
    seen: set[str] = set()
    for mount in mounts:
        if mount.version == 2:
            if "v2" in seen or "" not in own:
                continue
            seen.add("v2")
            path = _own_dir(mount, own[""])
            if path is not None:
                found.append(Hierarchy(2, frozenset(v2_controllers.split()), mount.point, path))
            continue
        names = mount.controllers - seen
        if not names:
            continue
        first = sorted(names)[0]
        if first not in own:
            continue
        path = _own_dir(mount, own[first])
        if path is not None:
            seen |= names
            found.append(Hierarchy(1, frozenset(names), mount.point, path))
    return found


def discover(proc_root: Path = Path("/proc")) -> list[Hierarchy]:
    """The hierarchies this process sees (empty when none is mounted or /proc is unreadable)."""
    try:
        own = parse_proc_cgroup((proc_root / "self" / "cgroup").read_text())
        mounts = parse_mountinfo((proc_root / "self" / "mountinfo").read_text())
    except OSError:
        return []
    v2 = ""
    for mount in mounts:
        if mount.version == 2 and "" in own:
            own_dir = _own_dir(mount, own[""])
            try:
                v2 = (own_dir / "cgroup.controllers").read_text() if own_dir else ""
            except OSError:
                v2 = ""
            break
    return hierarchies(mounts, own, v2_controllers=v2)
