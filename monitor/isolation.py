"""Who a process job runs as, and the files only it may reach.

A worker running as root starts each process job as an unprivileged account
(``Settings.job_user``, or the tool's ``user``): the job joins its control groups as root,
then ``setpriv`` drops to the account before the job's program runs. The job's working
directory is the account's alone (mode 0700) while it runs and is handed back to the worker
when it ends; the rest of the data directory (store, spool, reports) is the worker's alone.

A worker that is not root cannot switch users: its jobs run as the worker's own user, which
is said once in the log and recorded in each job's ``containment.isolation``.
"""

from __future__ import annotations

import logging
import os
import pwd
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jobprobe.monitor import errors

log = logging.getLogger(__name__)

#: The ``job_user`` value that runs jobs as the worker's own user (an explicit choice).
WORKER = "worker"
_warned: set[str] = set()


@dataclass(frozen=True)
class Account:
    """The account a job runs as; ``switch`` is False when it is the worker's own."""

    name: str
    uid: int
    gid: int
    switch: bool
    reason: str | None = None
    #: The account's groups (its own gid first), which the job keeps; none of the worker's.
    groups: tuple[int, ...] = ()
    #: True when the job runs under a uid of its own (``job_uids``), not the account's.
    own_uid: bool = False

    def with_uid(self, uid: int) -> Account:
        """This account's name and groups under a uid of the job's own."""
        return replace(self, uid=uid, own_uid=True)

    def as_record(self) -> dict[str, Any]:
        """The ``containment.isolation`` field of a job's record."""
        return {
            "user": self.name, "uid": self.uid, "separate": self.switch, "reason": self.reason,
            "own_uid": self.own_uid,
        }  # fmt: skip


def _own_account(reason: str | None) -> Account:
    uid, gid = os.geteuid(), os.getegid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    return Account(name=name, uid=uid, gid=gid, switch=False, reason=reason)


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)


def resolve(job_user: str | None, tool_user: str | None = None) -> Account:
    """The account a job runs as: the tool's ``user``, else ``job_user``; ``worker`` or None: ours.

    Raises LaunchError when the named account does not exist (a job never falls back to the
    worker's user silently).
    """
    wanted = tool_user or job_user
    if wanted is None or wanted == WORKER:
        return _own_account("running as the worker's own user was chosen (job user 'worker')")
    try:
        entry = pwd.getpwnam(wanted) if not wanted.isdigit() else pwd.getpwuid(int(wanted))
    except KeyError:
        raise errors.LaunchError(
            f"the job user {wanted!r} does not exist: create it (useradd --system "
            f"--no-create-home --shell /usr/sbin/nologin {wanted}) or set JOBPROBE_JOB_USER"
        ) from None
    if entry.pw_uid == os.geteuid():
        return _own_account(None if entry.pw_uid != 0 else "the job user is root")
    if os.geteuid() != 0:
        reason = (
            f"the worker is not root, so it cannot run jobs as {wanted!r}: jobs run as the "
            "worker's own user and can read what it can"
        )
        _warn_once(reason)
        return _own_account(reason)
    groups = tuple(dict.fromkeys(os.getgrouplist(entry.pw_name, entry.pw_gid)))
    return Account(
        name=entry.pw_name, uid=entry.pw_uid, gid=entry.pw_gid, switch=True, groups=groups
    )


def prepare(workdir: Path, account: Account, private_root: Path | None) -> None:
    """Make ``workdir`` the account's alone, and what else lies under ``private_root`` the worker's.

    ``private_root`` (the data directory) becomes traversable but not listable (0711), as do the
    folders between it and ``workdir``; every other entry directly in it (the store, the spool,
    reports) loses its group and other permissions. The worker's later files are private too
    (umask 077).
    """
    if not account.switch:
        workdir.mkdir(parents=True, exist_ok=True)
        return
    os.umask(os.umask(0o077) | 0o077)
    workdir.mkdir(parents=True, exist_ok=True)
    if private_root is not None and workdir.is_relative_to(private_root):
        _private(private_root, keep=workdir.relative_to(private_root).parts[0])
        _warn_if_unreachable(private_root, account)
        folder = private_root
        for part in workdir.relative_to(private_root).parts[:-1]:
            folder = folder / part
            os.chmod(folder, 0o711)
    os.chmod(workdir, 0o700)
    for path in (workdir, *workdir.iterdir()):
        os.chown(path, account.uid, account.gid, follow_symlinks=False)


def _warn_if_unreachable(root: Path, account: Account) -> None:
    """Say once when a folder above the data directory keeps the account from reaching it."""
    for folder in root.resolve().parents:
        try:
            if not folder.stat().st_mode & 0o001:
                _warn_once(
                    f"{folder} is not traversable by {account.name!r}: its jobs reach their "
                    "working directory only by relative paths (JOBPROBE_WORKDIR and "
                    "JOBPROBE_METRICS_FILE fail); put JOBPROBE_DATA_DIR elsewhere "
                    "(e.g. /var/lib/jobprobe)"
                )
                return
        except OSError:
            return


def _private(root: Path, *, keep: str) -> None:
    os.chmod(root, 0o711)
    for entry in os.scandir(root):
        if entry.name == keep or entry.is_symlink():
            continue
        mode = stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode)
        if mode & 0o077:
            os.chmod(entry.path, mode & ~0o077)


def reclaim(workdir: Path, account: Account) -> None:
    """After the job: hand ``workdir`` back to the worker, without links that lead outside it.

    The worker then reads the job's logs, metrics and artifacts as itself: a link the job made
    to a file only the worker may read (``/proc/<worker>/environ``, the store) is removed
    first, so that nothing of the worker's ends up in the job's record; so is a file it does
    not own (a hard link to someone else's file, where ``fs.protected_hardlinks`` is off).
    """
    if not account.switch:
        return
    uid, gid = os.geteuid(), os.getegid()
    root = workdir.resolve()
    os.chown(workdir, uid, gid, follow_symlinks=False)
    os.chmod(workdir, 0o700)
    for folder, dirs, files in os.walk(workdir):
        for name in (*dirs, *files):
            path = Path(folder) / name
            info = path.lstat()
            if stat.S_ISREG(info.st_mode) and info.st_uid != account.uid:
                path.unlink()
                continue
            os.chown(path, uid, gid, follow_symlinks=False)
            if path.is_symlink():
                try:
                    target = path.resolve()
                except (OSError, RuntimeError):  # a loop
                    target = root
                if not target.is_relative_to(root) or target == root:
                    path.unlink()
            elif not stat.S_ISREG(mode := path.lstat().st_mode) and not stat.S_ISDIR(mode):
                path.unlink()  # a FIFO where a log was would stall the worker reading it
