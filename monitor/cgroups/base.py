"""JobGroup: what the monitor needs of one job attempt's control group (or of its fallback)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jobprobe.monitor.limits import Limits

#: How long kill_all and remove keep trying before they report failure.
DEADLINE_S = 5.0
_POLL_S = 0.005


@dataclass(frozen=True)
class Applied:
    """Whether a job's limits were applied; ``reason`` says why not."""

    applied: bool | None  # None: no limit was asked for
    reason: str | None = None


def read_pids(procs: Path) -> list[int]:
    """The pids listed in a ``cgroup.procs`` file (empty when the group is gone)."""
    try:
        return [int(p) for p in procs.read_text().split()]
    except (OSError, ValueError):
        return []


def write(path: Path, value: str) -> None:
    """Write a control file in one ``write(2)``, as the kernel expects."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)  # as `echo > file` does; kernfs ignores it
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def try_write(path: Path, value: str) -> str | None:
    """Write a control file; None on success, else the reason in words."""
    try:
        write(path, value)
    except OSError as exc:
        return f"cannot write {path}: {exc.strerror or exc}"
    return None


def sigkill(pids: Iterable[int]) -> None:
    """SIGKILL each pid that still exists."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def rmdir_all(dirs: Iterable[Path], deadline: float) -> list[Path]:
    """Remove each group directory, retrying while it is still busy; returns those left."""
    left = [d for d in dict.fromkeys(dirs)]
    while left:
        busy: list[Path] = []
        for path in left:
            try:
                os.rmdir(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                if exc.errno != errno.EBUSY:
                    return left
                busy.append(path)
        left = busy
        if not left or time.monotonic() >= deadline:
            break
        sigkill(pid for d in left for pid in read_pids(d / "cgroup.procs"))
        time.sleep(_POLL_S)
    return left


def lock_dir(path: Path, *, block: bool) -> int | None:
    """An fd holding an exclusive flock on directory ``path``; None when another holds it.

    A job group's directories are locked by the process that runs the job for the job's whole
    life: the kernel drops the lock when that process dies, however it dies, which is how a
    restarted worker tells its dead predecessor's groups from live ones.
    """
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError:
        os.close(fd)
        raise
    return fd


class JobGroup(ABC):
    """One job attempt's group: where its processes run, are counted, limited and killed."""

    #: ``cgroup-v2``, ``cgroup-v1`` or ``process-tree``: the record's ``accounting``.
    version: str
    #: Directory by controller name (``cpu``, ``cpuacct``, ``memory``, ``blkio``, ``pids``,
    #: ``freezer``; ``unified`` for the v2 group). Empty for the process-tree fallback.
    paths: dict[str, Path]

    def __init__(self) -> None:
        self.root_pid: int | None = None
        self._locks: list[int] = []

    @property
    def dirs(self) -> list[Path]:
        """Each directory of the group once."""
        return list(dict.fromkeys(self.paths.values()))

    @property
    def join_files(self) -> list[Path]:
        """The ``cgroup.procs`` files the job's root writes its pid into before it execs."""
        return [d / "cgroup.procs" for d in self.dirs]

    def attach(self, pid: int) -> None:
        """The job's root process is ``pid`` (started through the join step)."""
        self.root_pid = pid

    def members(self) -> list[int]:
        """Live processes in the group (an exited, unreaped root is not one)."""
        pids: dict[int, None] = {}
        for procs in self.join_files:
            pids.update(dict.fromkeys(read_pids(procs)))
        return list(pids)

    def leaked(self) -> list[int]:
        """Processes of the job still alive besides its root (call once the root has ended)."""
        return [p for p in self.members() if p != self.root_pid]

    @abstractmethod
    def kill_all(self, timeout: float = DEADLINE_S) -> bool:
        """Kill every process in the group; True once it is empty."""

    def remove(self, timeout: float = DEADLINE_S) -> bool:
        """Remove the group's directories (killing what is left); True when all are gone."""
        left = rmdir_all(self.dirs, time.monotonic() + timeout)
        self.close()
        return not left

    def oom_killed(self) -> int | None:
        """How many processes the kernel's OOM killer killed in the group (None: unknown)."""
        return None

    @abstractmethod
    def apply_limits(self, limits: Limits) -> Applied:
        """Apply ``limits`` before the job starts."""

    def lock(self) -> None:
        """Hold the group's directories locked for as long as this process runs the job."""
        for path in self.dirs:
            fd = lock_dir(path, block=True)
            if fd is not None:
                self._locks.append(fd)

    def close(self) -> None:
        """Release the group's locks (after remove, or when it is handed to a cleaner)."""
        for fd in self._locks:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._locks.clear()
