"""The v2 code paths for real, on the v2 hierarchy these hosts mount beside v1 (no controllers,
but ``cgroup.kill``, ``cgroup.freeze``, ``cgroup.events`` and ``cpu.stat`` work)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobprobe.monitor import cgroups, process
from jobprobe.monitor.cgroups import discovery
from jobprobe.monitor.limits import Limits
from tests import services
from tests.integration import cgroup_support as cs
from tests.polling import wait_for


@pytest.fixture
def v2_manager() -> Iterator[cgroups.Cgroups]:
    unified = [h for h in discovery.discover() if h.version == 2]
    if not unified or not os.access(unified[0].own, os.W_OK):
        services.unavailable("no writable v2 (unified) hierarchy here")
    manager = cgroups.Cgroups(f"jobprobe-mtest-v2-{os.getpid()}", hierarchies=unified)
    try:
        yield manager
    finally:
        manager.cleanup_stale()
        parent = manager.parent_dir(unified[0])
        if parent is not None and parent.is_dir():
            parent.rmdir()


def test_a_v2_group_joins_freezes_counts_and_kills(
    v2_manager: cgroups.Cgroups, tmp_path: Path
) -> None:
    group = v2_manager.create("e" * 32, 1)
    assert isinstance(group, cgroups.V2Group) and group.version == "cgroup-v2"
    script = (
        "setsid sh -c 'echo $$ > pid-a; while :; do :; done' & echo $$ > pid-root; "
        "while [ ! -s pid-a ]; do :; done; exec sleep 300"
    )
    job = process.ProcessJob(
        ["sh", "-c", script], cwd=tmp_path, env={"PATH": "/usr/bin:/bin"},
        stdout=tmp_path / "out", stderr=tmp_path / "err", join=group.join_files,
    )  # fmt: skip
    group.attach(job.pid)
    pids: list[int] = []
    try:
        wait_for(lambda: len(cs.pids_in(tmp_path)) == 2, 10, "the job's processes")
        pids = cs.pids_in(tmp_path)
        assert sorted(group.members()) == sorted(pids)
        cgroups.base.write(group.path / "cgroup.freeze", "1")
        wait_for(lambda: "frozen 1" in (group.path / "cgroup.events").read_text(), 5, "frozen")
        cgroups.base.write(group.path / "cgroup.freeze", "0")
        wait_for(lambda: "frozen 0" in (group.path / "cgroup.events").read_text(), 5, "thawed")
        stat = cgroups.v2.parse_keyed((group.path / "cpu.stat").read_text())
        # The kernel converts each of the three from nanoseconds on its own: they may differ
        # by a microsecond of rounding (seen: 90369 against 86260 + 4108).
        assert abs(stat["usage_usec"] - (stat["user_usec"] + stat["system_usec"])) <= 2
        t0 = time.monotonic()
        assert group.kill_all()  # cgroup.kill: every member, the escaped one too
        assert time.monotonic() - t0 < 3.0
        assert not any(cs.alive(p) for p in pids if p != job.pid)
        assert group.apply_limits(Limits(mem_bytes=2**30)).applied is False  # no controllers
        assert group.oom_killed() is None
    finally:  # never wait on a root that still runs: empty the group first
        group.kill_all()
        cs.kill_leftovers(pids)
        job.reap()
        assert group.remove()
    assert not group.path.exists()


def test_the_guard_kills_a_v2_group_when_its_worker_goes(
    v2_manager: cgroups.Cgroups, tmp_path: Path
) -> None:
    group = v2_manager.create("f" * 32, 1)
    guard = cgroups.Guard(group)
    sleeper = subprocess.Popen(
        ["sh", "-c", 'echo $$ > "$1"; exec sleep 300', "sh", str(group.join_files[0])]
    )
    try:
        wait_for(lambda: group.members() == [sleeper.pid], 5, "the sleeper in the group")
        group.close()  # the worker's lock goes with it
        guard.close()  # as when the worker dies: the pipe's only writer is gone
        wait_for(lambda: sleeper.poll() is not None, 5, "the guard to kill the group")
        wait_for(lambda: not group.path.exists(), 5, "the guard to remove the group")
    finally:
        sleeper.kill()
        sleeper.wait(5)
