"""Running a job as a local process group: start, wait with wait4, terminate the group."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import resource
import select
import shutil
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jobprobe.monitor import errors

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """If the worker dies (even by SIGKILL), the job's root gets SIGKILL too."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _resolve(program: str, env: Mapping[str, str]) -> str:
    """The program's path, or a LaunchError saying it cannot be run."""
    found = shutil.which(program, path=env.get("PATH", os.defpath))
    if found is None:
        raise errors.LaunchError(f"cannot start {program!r}: not found or not executable")
    return found


def own_peak_rss_kb() -> int | None:
    """This process's peak RSS so far (VmHWM, kB).

    Linux folds the memory image a child inherits before ``exec`` into the child's
    ``ru_maxrss``: a job started from a 180 MB worker "peaks" at 180 MB even when it runs
    ``true``. A child's ``ru_maxrss`` only measures the job when it exceeds this figure.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


# The join step: the job's root writes its own pid into each of its groups' cgroup.procs, then
# execs the job, so that nothing of the job runs outside its group. A group it cannot join
# stops the job (exit 125) rather than letting it run uncounted and unkillable.
_JOIN = (
    'n=$1; shift; while [ "$n" -gt 0 ]; do '
    'echo $$ > "$1" || { echo "jobprobe: cannot join the control group $1" >&2; exit 125; }; '
    'shift; n=$((n-1)); done; exec "$@"'
)
JOIN_FAILED = 125


def _launch_argv(
    argv: Sequence[str], env: Mapping[str, str], join: Sequence[Path] = (),
    user: tuple[int, int, Sequence[int]] | None = None,
) -> tuple[list[str], bool]:  # fmt: skip
    """The argv to exec, and whether a preexec_fn must set the parent-death signal.

    ``setpriv --pdeathsig KILL`` (util-linux) sets it and execs the job in place, which keeps
    subprocess on its fast vfork path: a preexec_fn forces a full fork, measured at 9.4 ms
    against 1.5 ms per start in a 170 MB worker process. With ``join`` (``cgroup.procs``
    files), a ``sh`` between the two moves the process into the job's groups before the
    job's program runs; the parent-death signal survives both execs.

    With ``user`` (uid, gid, groups), a second ``setpriv`` after the join drops to that uid
    with the account's own groups, none of the worker's (so an account an administrator put in
    ``video``/``render`` reaches GPU device nodes that are not world-accessible; the uid may be
    one of the job's own with no passwd entry, hence groups given rather than looked up; no new
    privileges) and sets the parent-death signal again: the kernel
    clears it when the process's user changes.
    """
    program = [_resolve(argv[0], env), *argv[1:]]
    if user is not None:
        setpriv = _setpriv()
        if setpriv is None:
            raise errors.LaunchError(
                "cannot run the job as another user: setpriv (util-linux) is not installed"
            )
        uid, gid, groups = user
        group_args = [f"--groups={','.join(map(str, groups))}"] if groups else ["--clear-groups"]
        program = [
            setpriv, f"--reuid={uid}", f"--regid={gid}", *group_args, "--no-new-privs",
            "--pdeathsig", "KILL", "--", *program,
        ]  # fmt: skip
        if not join:
            return program, False
    if join:
        program = [_sh(), "-c", _JOIN, "jobprobe-join", str(len(join)), *map(str, join), *program]
    setpriv = _setpriv()
    if setpriv is None:
        return program, True
    return [setpriv, "--pdeathsig", "KILL", "--", *program], False


@functools.cache
def _sh() -> str:
    return shutil.which("sh") or "/bin/sh"


@functools.cache
def _setpriv() -> str | None:
    """util-linux's ``setpriv`` on the worker's own PATH (looked up once per process)."""
    return shutil.which("setpriv")


@dataclass
class Exited:
    """How a process ended, with the rusage of it and the descendants it reaped."""

    returncode: int
    rusage: resource.struct_rusage | None


class ProcessJob:
    """A job's root process in its own session and process group (as ``user``'s uid, gid if given)."""

    def __init__(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], stdout: Path, stderr: Path,
        join: Sequence[Path] = (), user: tuple[int, int, Sequence[int]] | None = None,
    ) -> None:  # fmt: skip
        launch, needs_preexec = _launch_argv(argv, env, join, user)
        self.launcher_peak_kb = own_peak_rss_kb()
        with stdout.open("ab") as out, stderr.open("ab") as err:
            try:
                self._popen = subprocess.Popen(
                    launch,
                    cwd=cwd,
                    env=dict(env),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                    preexec_fn=_die_with_parent if needs_preexec else None,
                )
            except OSError as exc:
                raise errors.LaunchError(f"cannot start {argv[0]!r}: {exc.strerror}") from exc
        self.pid = self._popen.pid
        self._exited = threading.Event()
        # A pidfd turns readable when the root exits, without reaping it; where the kernel
        # has none (before 5.3, some sandboxes), a thread blocks in waitid instead.
        self._pidfd: int | None = None
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            threading.Thread(target=self._wait, name=f"waitid-{self.pid}", daemon=True).start()

    def _wait(self) -> None:
        # WNOWAIT leaves the root a zombie: its final counters stay readable in /proc until
        # reap() (the profiler takes its last sample from them), and its pid cannot be reused.
        while True:
            try:
                os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
            except InterruptedError:
                continue
            except ChildProcessError:
                pass
            break
        self._exited.set()

    def wait(self, timeout: float | None) -> bool:
        """True once the root has exited (not yet reaped), False if still running after ``timeout``."""
        if self._pidfd is None or self._exited.is_set():
            return self._exited.wait(timeout)
        poller = select.poll()
        poller.register(self._pidfd, select.POLLIN)
        if poller.poll(None if timeout is None else max(0, int(timeout * 1000))):
            self._exited.set()
        return self._exited.is_set()

    def reap(self) -> Exited:
        """Collect the exited root: its code and the rusage of it and the descendants it reaped."""
        self.wait(None)
        try:
            _, status, usage = os.wait4(self.pid, 0)
        except ChildProcessError:
            return Exited(-1, None)
        finally:
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
        code = os.waitstatus_to_exitcode(status)
        self._popen.returncode = code  # reaped here; keeps Popen from waiting again
        return Exited(code, usage)

    def signal_group(self, sig: int) -> None:
        """Send ``sig`` to every process of the job's group."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def terminate(self, grace: float) -> None:
        """SIGTERM the group, wait ``grace`` seconds, then SIGKILL it; returns once the root exited."""
        self.signal_group(signal.SIGTERM)
        if not self.wait(grace):
            self.signal_group(signal.SIGKILL)
            self.wait(None)

    def kill_stragglers(self) -> None:
        """After the root exits, end what it left running in its group."""
        self.signal_group(signal.SIGKILL)
