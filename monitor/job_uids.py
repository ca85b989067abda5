"""A user id of its own for each running job of the shared job account.

Jobs that ran as one account could read each other while they ran: the same uid opens the
other's 0700 working directory and its ``/proc/<pid>/environ``. So each process job of the
job account runs under a uid of its own, taken from a range (``JOBPROBE_JOB_UIDS``, as
systemd's ``DynamicUser`` does), with the account's group and supplementary groups. The uid
has no passwd entry: ``USER`` and ``HOME`` in the job's environment still name the account
and the working directory.

A uid is held with an ``flock`` on a file named for it in a root-only folder, so that workers
on one host never hand one uid to two jobs; a uid that owns a running process is skipped (a
process that escaped an earlier job).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

from jobprobe.monitor import errors

#: Where the uid locks live: one host-wide place for all workers of the host.
LOCK_DIR = Path("/run/jobprobe/job-uids")
#: What turns per-job uids off (all jobs share the account's uid).
OFF = "off"
_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")
#: Below this a uid may belong to a real account of the host; above it lies the kernel's limit.
_LOWEST, _HIGHEST = 65_536, 4_294_967_294


@dataclass(frozen=True)
class UidRange:
    """Uids ``first`` to ``last``, inclusive."""

    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1


def parse_range(text: str) -> UidRange | None:
    """``"FIRST-LAST"`` as a UidRange, ``off`` as None; ValueError says what is wrong."""
    if text.strip().lower() == OFF:
        return None
    match = _RANGE.match(text)
    if match is None:
        raise ValueError(f"expected FIRST-LAST (e.g. 1900000000-1900065535) or {OFF}")
    first, last = int(match[1]), int(match[2])
    if not _LOWEST <= first <= last <= _HIGHEST:
        raise ValueError(
            f"the range must lie within {_LOWEST}-{_HIGHEST}, clear of the host's accounts, "
            "and its first uid must not exceed its last"
        )
    return UidRange(first, last)


class UidClaim:
    """One uid, held until ``release``."""

    def __init__(self, uid: int, path: Path, fd: int) -> None:
        self.uid = uid
        self._path = path
        self._fd: int | None = fd

    def release(self) -> None:
        """Give the uid back (idempotent)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self._path.unlink()
        os.close(self._fd)
        self._fd = None


def _process_uids() -> set[int]:
    """Every uid (real, effective, saved, filesystem) the host's processes run as: the
    ``Uid:`` line of ``/proc/<pid>/status`` (a non-dumpable process's ``/proc/<pid>`` is
    owned by root, so its owner would hide it)."""
    uids: set[int] = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(os.path.join(entry.path, "status"), encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith("Uid:"):
                        uids.update(int(v) for v in line.split()[1:])
                        break
        except (OSError, ValueError):
            continue
    return uids


def _try_lock(path: Path) -> int | None:
    """The fd of ``path`` locked by us, or None when another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return None
        raise
    # A holder that released meanwhile unlinked the file: ours must still be the one named.
    try:
        same = os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        same = False
    if not same:
        os.close(fd)
        return None
    return fd


def claim(uids: UidRange, lock_dir: Path = LOCK_DIR) -> UidClaim:
    """A uid of ``uids`` that no other job holds and no process runs as.

    Raises LaunchError when the lock folder cannot be made or every uid is taken.
    """
    try:
        lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise errors.LaunchError(
            f"cannot make {lock_dir} for the jobs' own uids ({exc.strerror}); "
            f"set JOBPROBE_JOB_UIDS={OFF} to run every job as the job account's uid"
        ) from exc
    busy = _process_uids()
    start = random.randrange(uids.size)
    for step in range(uids.size):
        uid = uids.first + (start + step) % uids.size
        if uid in busy:
            continue
        path = lock_dir / str(uid)
        fd = _try_lock(path)
        if fd is not None:
            return UidClaim(uid, path, fd)
    raise errors.LaunchError(
        f"every uid of JOBPROBE_JOB_UIDS ({uids.first}-{uids.last}) is in use; widen the range"
    )
