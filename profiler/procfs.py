"""Reading ``/proc``: pure parsers, and a reader with an injectable root.

The parsers take file contents and return numbers, so they are tested on recorded files;
:class:`ProcReader` does the I/O (``os.open``/``os.read``, about 12 µs per file).
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of ``/proc/<pid>/stat`` the profiler uses (times in clock ticks)."""

    pid: int
    comm: str
    state: str
    ppid: int
    utime: int
    stime: int
    cutime: int
    cstime: int
    num_threads: int
    starttime: int
    rss_pages: int


def parse_stat(text: str) -> ProcStat:
    """Parse ``/proc/<pid>/stat``; ``comm`` may hold spaces and parentheses."""
    open_paren = text.index("(")
    close_paren = text.rindex(")")
    pid = int(text[:open_paren])
    comm = text[open_paren + 1 : close_paren]
    f = text[close_paren + 2 :].split()
    # f[0] is field 3 (state) of proc(5).
    return ProcStat(
        pid=pid,
        comm=comm,
        state=f[0],
        ppid=int(f[1]),
        utime=int(f[11]),
        stime=int(f[12]),
        cutime=int(f[13]),
        cstime=int(f[14]),
        num_threads=int(f[17]),
        starttime=int(f[19]),
        rss_pages=int(f[21]),
    )


_STATUS_FIELDS = {
    "VmHWM": "hwm_kb",
    "VmRSS": "rss_kb",
    "voluntary_ctxt_switches": "voluntary_ctxt_switches",
    "nonvoluntary_ctxt_switches": "nonvoluntary_ctxt_switches",
}


def parse_status(text: str) -> dict[str, int]:
    """Parse the memory high-water mark, RSS and context switches from ``/proc/<pid>/status``.

    Keys: ``hwm_kb``, ``rss_kb``, ``voluntary_ctxt_switches``, ``nonvoluntary_ctxt_switches``
    (absent for zombies and kernel threads, which have no memory lines).
    """
    # Four lines of about fifty, once per process per tick: find them, split nothing else.
    out: dict[str, int] = {}
    for name, key in _STATUS_FIELDS.items():
        start = text.find(f"\n{name}:")
        if start < 0:
            continue
        start += len(name) + 2
        end = text.find("\n", start)
        out[key] = int(text[start : end if end >= 0 else None].split()[0])
    return out


def parse_io(text: str) -> dict[str, int]:
    """Parse ``/proc/<pid>/io`` into ``{rchar, wchar, syscr, syscw, read_bytes, ...}``."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        if sep:
            out[name.strip()] = int(rest)
    return out


def parse_children(text: str) -> list[int]:
    """Parse ``/proc/<pid>/task/<tid>/children`` (space-separated pids)."""
    return [int(x) for x in text.split()]


def read_text(path: str) -> str | None:
    """The whole file at ``path`` (one ``os.read`` loop, no buffering layers), or ``None`` when
    it is gone or unreadable (a process exiting between open and read gives ESRCH)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError, PermissionError):
        return None
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


class ProcReader:
    """Read per-process files under ``proc_root``; every method returns ``None`` for a process
    that is gone (or, for ``io``, not ours to read)."""

    def __init__(self, proc_root: str = "/proc") -> None:
        self.root = proc_root.rstrip("/")

    def _read(self, path: str) -> str | None:
        return read_text(path)

    def stat(self, pid: int) -> ProcStat | None:
        """``/proc/<pid>/stat`` parsed, or ``None``."""
        text = self._read(f"{self.root}/{pid}/stat")
        if not text:
            return None
        try:
            return parse_stat(text)
        except (ValueError, IndexError):
            return None

    def status(self, pid: int) -> dict[str, int] | None:
        """``/proc/<pid>/status`` parsed, or ``None``."""
        text = self._read(f"{self.root}/{pid}/status")
        return None if text is None else parse_status(text)

    def io(self, pid: int) -> dict[str, int] | None:
        """``/proc/<pid>/io`` parsed, or ``None`` (gone, or another user's process)."""
        text = self._read(f"{self.root}/{pid}/io")
        return None if not text else parse_io(text)

    def children(self, pid: int, num_threads: int) -> list[int]:
        """Direct children of every thread of ``pid`` (threads can fork too)."""
        if num_threads <= 1:
            tids = [str(pid)]
        else:
            try:
                tids = os.listdir(f"{self.root}/{pid}/task")
            except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
                return []
        kids: list[int] = []
        for tid in tids:
            text = self._read(f"{self.root}/{pid}/task/{tid}/children")
            if text:
                kids.extend(parse_children(text))
        return kids

    def has_children_files(self, pid: int) -> bool:
        """Whether this kernel exposes ``/proc/<pid>/task/<tid>/children``."""
        return os.path.exists(f"{self.root}/{pid}/task/{pid}/children")

    def all_pids(self) -> list[int]:
        """Every pid under the root (the slow fallback when children files are missing)."""
        return [int(d) for d in os.listdir(self.root) if d.isdigit()]
