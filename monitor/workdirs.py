"""Where a job runs on a worker: one directory per attempt, its logs inside.

``DATA_DIR/jobs/<job id>/attempt-<n>/`` holds the script, ``stdout.log``, ``stderr.log`` and
whatever the job writes. The worker creates it; ``jobprobe logs`` reads a running job's log
from it on the same machine. The worker's housekeeping (``worker.disk``) removes old job
directories and trims oversized logs to their head and tail.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import time
from pathlib import Path
from typing import Literal

Stream = Literal["stdout", "stderr"]
#: The file each stream of a job is written to, inside its attempt directory.
LOG_FILES: dict[Stream, str] = {"stdout": "stdout.log", "stderr": "stderr.log"}
_PREFIX = "attempt-"


def attempt_dir(data_dir: Path, job_id: str, attempt: int) -> Path:
    """The directory attempt ``attempt`` of job ``job_id`` runs in."""
    return data_dir / "jobs" / job_id / f"{_PREFIX}{attempt}"


def latest_attempt_dir(data_dir: Path, job_id: str) -> Path | None:
    """The directory of the job's highest-numbered attempt on this machine, or None."""
    attempts = [
        (int(path.name.removeprefix(_PREFIX)), path)
        for path in (data_dir / "jobs" / job_id).glob(f"{_PREFIX}*")
        if path.name.removeprefix(_PREFIX).isdigit()
    ]
    return max(attempts)[1] if attempts else None


def log_path(workdir: Path, stream: Stream) -> Path:
    """The log file of ``stream`` in an attempt directory."""
    return workdir / LOG_FILES[stream]


def full_reason(data_dir: Path) -> str:
    """The one line that says a data directory is full, with its free space."""
    try:
        st = os.statvfs(data_dir)
        free = f"{st.f_bavail * st.f_frsize / 2**20:.1f}"
    except OSError:
        free = "?"
    return (
        f"data directory {data_dir} is full ({free} MB free); free space or set JOBPROBE_DATA_DIR"
    )


def failure_reason(exc: BaseException, data_dir: Path) -> str:
    """Why a job could not start: one clear line when its data directory is full or not
    writable, else the error's own text."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return full_reason(data_dir)
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
        return (
            f"data directory {data_dir} is not writable ({exc.strerror}); "
            "fix its permissions or set JOBPROBE_DATA_DIR"
        )
    return str(exc)


def _newest_mtime(path: Path) -> float:
    newest = path.lstat().st_mtime
    for root, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            with contextlib.suppress(FileNotFoundError):
                newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
    return newest


def remove_old(data_dir: Path, *, max_age_s: float, now: float | None = None) -> int:
    """Remove job directories in which nothing changed for ``max_age_s``; how many."""
    now = time.time() if now is None else now
    removed = 0
    jobs = data_dir / "jobs"
    if not jobs.is_dir():
        return 0
    for job_dir in jobs.iterdir():
        try:
            if not job_dir.is_dir() or now - _newest_mtime(job_dir) < max_age_s:
                continue
            shutil.rmtree(job_dir)
        except FileNotFoundError:  # removed meanwhile (another worker on a shared directory)
            continue
        removed += 1
    return removed


def _job_owns(st: os.stat_result, path: Path) -> bool:
    """A regular file owned by the owner of its folder (the job while it runs, the worker
    after), or by this process: not a FIFO, and not a hard link to someone else's file."""
    if not stat.S_ISREG(st.st_mode):
        return False
    try:
        folder_uid = path.parent.stat().st_uid
    except OSError:
        return False
    return st.st_uid in (folder_uid, os.geteuid())


def is_log_file(path: Path) -> bool:
    """Whether ``path`` is a job's own log, readable without following anything it made."""
    try:
        return _job_owns(path.lstat(), path)
    except OSError:
        return False


def read_log_from(
    path: Path, offset: int = 0, *, limit: int | None = None, last: int | None = None
) -> tuple[bytes, int] | None:
    """The bytes of a job's log from ``offset`` on (at most ``limit``; only the ``last`` ones
    of those when given) and the offset they start at; None when it is not the job's own
    regular file (a link, a FIFO or a hard link a running job put in its place), never
    followed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        stat = os.fstat(fd)
        if not _job_owns(stat, path):
            return None
        start = offset if last is None else max(offset, stat.st_size - last)
        fh.seek(start)
        return fh.read(-1 if limit is None else limit), start


def trim_log(path: Path, max_bytes: int) -> bool:
    """Keep the head and tail of a log over ``max_bytes`` (half each) with a note between them,
    in place (no second copy on a full disk); True when it was trimmed."""
    size = path.stat().st_size
    if size <= max_bytes:
        return False
    half = max_bytes // 2
    note = (
        f"\n[jobprobe: {size - 2 * half} bytes cut from the middle of this log "
        f"(JOBPROBE_LOG_MAX_MB); its first and last {half} bytes are kept]\n"
    ).encode()
    # Never through a link: a running job owns its directory and could point its log anywhere.
    with os.fdopen(os.open(path, os.O_RDWR | os.O_NOFOLLOW), "r+b") as fh:
        fh.seek(half)
        fh.write(note)
        dst, src = half + len(note), size - half
        while src < size:  # copy the tail down, chunk by chunk (dst < src: safe in place)
            fh.seek(src)
            chunk = fh.read(min(1 << 20, size - src))
            fh.seek(dst)
            fh.write(chunk)
            src, dst = src + len(chunk), dst + len(chunk)
        fh.truncate(dst)
    return True


def trim_logs(data_dir: Path, *, max_bytes: int, idle_s: float, now: float | None = None) -> int:
    """Trim every job log over ``max_bytes`` not written to for ``idle_s`` (its job ended)."""
    now = time.time() if now is None else now
    trimmed = 0
    for name in LOG_FILES.values():
        for path in (data_dir / "jobs").glob(f"*/{_PREFIX}*/{name}"):
            try:
                st = path.lstat()
                if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                    continue  # a link a job made in place of its log: not the job's to trim
                if st.st_size > max_bytes and now - st.st_mtime >= idle_s:
                    trimmed += trim_log(path, max_bytes)
            except FileNotFoundError:
                continue
    return trimmed
