"""A guard per job group: kills and removes the group if the worker dies without doing it.

The job's root has the parent-death signal, but its own children and escaped daemons do not.
The guard is a tiny shell outside the group, in a session of its own, blocked reading a pipe
whose only writer is the worker: when the worker ends, however it ends (SIGKILL included), the
read returns, and the guard empties the group (``cgroup.kill``, or the freezer and SIGKILL on
v1) and removes its directories. After a normal end the group is already gone and the guard
just exits.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

from jobprobe.monitor.cgroups import base

# $1: the v2 group ("" if none); $2: the freezer group ("" if none); then every group directory.
_SCRIPT = r"""
read _ignored
kill_file=$1; freezer=$2; shift 2
i=0
while [ $i -lt 100 ]; do
  left=0
  for d; do [ -d "$d" ] && [ -n "$(cat "$d/cgroup.procs" 2>/dev/null)" ] && left=1; done
  [ $left = 0 ] && break
  [ -n "$kill_file" ] && [ -e "$kill_file/cgroup.kill" ] && echo 1 > "$kill_file/cgroup.kill"
  [ -n "$freezer" ] && echo FROZEN > "$freezer/freezer.state"
  for d; do for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p"; done; done
  [ -n "$freezer" ] && echo THAWED > "$freezer/freezer.state"
  sleep 0.05; i=$((i+1))
done
i=0
while [ $i -lt 100 ]; do
  left=0
  for d; do [ -d "$d" ] && { rmdir "$d" || left=1; }; done
  [ $left = 0 ] && break
  sleep 0.05; i=$((i+1))
done
"""


class Guard:
    """The guard process of one group; ``close()`` once the group is removed."""

    def __init__(self, group: base.JobGroup) -> None:
        sh = shutil.which("sh") or "/bin/sh"
        read_end, self._write_end = os.pipe()
        unified, freezer = group.paths.get("unified"), group.paths.get("freezer")
        argv = [sh, "-c", _SCRIPT, "jobprobe-guard", str(unified or ""), str(freezer or ""),
                *(str(d) for d in group.dirs)]  # fmt: skip
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                argv, stdin=read_end, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, cwd="/",
            )  # fmt: skip
        finally:
            os.close(read_end)

    @property
    def pid(self) -> int | None:
        """The guard's pid (None once closed)."""
        return None if self._proc is None else self._proc.pid

    def close(self, timeout: float = 5.0) -> None:
        """Let the guard go (it finds the group gone and exits) and reap it."""
        if self._write_end >= 0:
            os.close(self._write_end)
            self._write_end = -1
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout)
            self._proc = None
