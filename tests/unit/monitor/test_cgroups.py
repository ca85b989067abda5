"""monitor.cgroups on recorded files: hierarchy discovery (hybrid, pure v2, a v1 container), the
parent rule, v2 and v1 groups' control files (limits, OOM counter), the join step's argv."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from jobprobe.monitor import cgroups, process
from jobprobe.monitor.cgroups import discovery
from jobprobe.monitor.limits import Limits

DATA = Path(__file__).resolve().parents[2] / "data" / "cgroup"


def proc_root(tmp_path: Path, name: str) -> Path:
    root = tmp_path / "proc"
    (root / "self").mkdir(parents=True)
    for file in ("cgroup", "mountinfo"):
        shutil.copy(DATA / "proc" / name / file, root / "self" / file)
    return root


def test_hybrid_host_discovery_finds_each_v1_controller_and_the_unified_group(
    tmp_path: Path,
) -> None:
    found = {h.key: h for h in discovery.discover(proc_root(tmp_path, "hybrid"))}
    assert set(found) == {"cpu", "cpuacct", "memory", "blkio", "pids", "freezer", "unified"}
    own = "process_api/afa7077a72353f7eb927ede288214e57"
    assert found["memory"].own == Path("/sys/fs/cgroup/memory") / own
    assert found["cpu"].own == Path("/sys/fs/cgroup/cpu")  # the root: its files are never written
    assert found["unified"].own == Path("/sys/fs/cgroup/unified") and found["unified"].version == 2


def test_pure_v2_discovery_places_the_own_group_under_the_mount(tmp_path: Path) -> None:
    (found,) = discovery.discover(proc_root(tmp_path, "v2"))
    assert found.version == 2
    assert found.own == Path("/sys/fs/cgroup/system.slice/jobprobe-worker.service")


def test_a_v1_container_without_cgroupns_maps_its_group_to_the_mount_root(
    tmp_path: Path,
) -> None:
    found = {h.key: h for h in discovery.discover(proc_root(tmp_path, "docker-v1"))}
    assert set(found) == {"cpu,cpuacct", "memory", "pids", "blkio", "freezer"}
    assert found["memory"].own == Path("/sys/fs/cgroup/memory")  # /docker/<id> is the mount
    assert found["cpu,cpuacct"].controllers == {"cpu", "cpuacct"}


def hierarchy(tmp_path: Path, name: str, version: int = 1) -> discovery.Hierarchy:
    mount = tmp_path / name
    (mount / "worker").mkdir(parents=True)
    controllers = frozenset() if version == 2 else frozenset(name.split(","))
    return discovery.Hierarchy(version, controllers, mount, mount / "worker")


def test_the_parent_is_beneath_the_own_group_and_never_outside_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = hierarchy(tmp_path, "memory")
    assert cgroups.Cgroups(hierarchies=[h]).parent_dir(h) == h.own / "jobprobe"
    assert cgroups.Cgroups("jobs/a", hierarchies=[h]).parent_dir(h) == h.own / "jobs" / "a"
    assert cgroups.Cgroups("/worker/x", hierarchies=[h]).parent_dir(h) == h.own / "x"
    with caplog.at_level(logging.WARNING):
        assert cgroups.Cgroups("/elsewhere", hierarchies=[h]).parent_dir(h) is None
        assert cgroups.Cgroups("../up", hierarchies=[h]).parent_dir(h) is None
    assert "outside the worker's own group" in caplog.text


def test_a_hybrid_group_spans_every_hierarchy_and_joins_each(tmp_path: Path) -> None:
    hs = [hierarchy(tmp_path, "cpu,cpuacct"), hierarchy(tmp_path, "memory"),
          hierarchy(tmp_path, "unified", 2)]  # fmt: skip
    group = cgroups.Cgroups(hierarchies=hs).create("ab12", 3)
    try:
        assert isinstance(group, cgroups.V1Group) and group.version == "cgroup-v1"
        assert set(group.paths) == {"cpu", "cpuacct", "memory", "unified"}
        assert group.paths["cpu"] == group.paths["cpuacct"] == hs[0].own / "jobprobe/job-ab12-3"
        assert group.join_files == [d / "cgroup.procs" for d in group.dirs] and len(group.dirs) == 3
    finally:
        assert group.remove()
    assert not (hs[1].own / "jobprobe" / "job-ab12-3").exists()


def test_stale_groups_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    hs = [hierarchy(tmp_path, "memory")]
    manager = cgroups.Cgroups(hierarchies=hs)
    live = manager.create("live", 1)
    (hs[0].own / "jobprobe" / "job-dead-1").mkdir()  # its worker (and its lock) is gone
    (hs[0].own / "jobprobe" / "not-a-job").mkdir()
    try:
        assert manager.cleanup_stale() == 1
        assert sorted(p.name for p in (hs[0].own / "jobprobe").iterdir()) == [
            "job-live-1", "not-a-job",
        ]  # fmt: skip
    finally:
        live.remove()


def v2_group(tmp_path: Path, controllers: str = "cpu memory pids io") -> cgroups.V2Group:
    path = tmp_path / "job-x-1"
    shutil.copytree(DATA / "v2", path)
    (path / "cgroup.controllers").write_text(controllers + "\n")
    (path / "cgroup.procs").write_text("")
    for name in ("cpu.max", "pids.max", "memory.max"):
        (path / name).write_text("max\n")
    return cgroups.V2Group(path)


def test_v2_limits_are_written_in_the_kernels_formats(tmp_path: Path) -> None:
    group = v2_group(tmp_path)
    applied = group.apply_limits(Limits(mem_bytes=512 * 2**20, cpus=1.5, max_procs=64))
    assert applied == cgroups.Applied(True)
    assert (group.path / "memory.max").read_text() == str(512 * 2**20)
    assert (group.path / "cpu.max").read_text() == "150000 100000"
    assert (group.path / "pids.max").read_text() == "64"


def test_v2_limits_without_the_controller_are_reported_not_applied(tmp_path: Path) -> None:
    group = v2_group(tmp_path, controllers="cpu")
    applied = group.apply_limits(Limits(mem_bytes=512 * 2**20, cpus=1.0))
    assert applied.applied is False and "no memory controller" in (applied.reason or "")
    assert group.apply_limits(Limits()) == cgroups.Applied(None)


def test_v2_oom_counter_is_read_from_memory_events(tmp_path: Path) -> None:
    group = v2_group(tmp_path)
    assert group.oom_killed() == 0
    (group.path / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\n")
    assert group.oom_killed() == 2
    (group.path / "memory.events").unlink()
    assert group.oom_killed() is None  # no memory controller: unknown, not 0


def test_v1_limits_and_oom_control(tmp_path: Path) -> None:
    dirs = {c: tmp_path / c for c in ("memory", "cpu", "pids")}
    for d in dirs.values():
        d.mkdir()
    for name in ("memory/memory.limit_in_bytes", "cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us",
                 "pids/pids.max"):  # fmt: skip
        (tmp_path / name).write_text("-1\n")
    (dirs["memory"] / "memory.oom_control").write_text(
        "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"
    )
    group = cgroups.V1Group(dirs)
    assert group.apply_limits(Limits(mem_bytes=2**30, cpus=0.5, max_procs=10)).applied is True
    assert (dirs["memory"] / "memory.limit_in_bytes").read_text() == str(2**30)
    assert (dirs["cpu"] / "cpu.cfs_quota_us").read_text() == "50000"
    assert (dirs["cpu"] / "cpu.cfs_period_us").read_text() == "100000"
    assert (dirs["pids"] / "pids.max").read_text() == "10"
    assert group.oom_killed() == 3
    partial = cgroups.V1Group({"memory": dirs["memory"]}).apply_limits(Limits(max_procs=4))
    assert partial.applied is False and "no pids controller" in (partial.reason or "")


def test_the_join_step_runs_under_the_parent_death_signal_before_the_program() -> None:
    files = [Path("/g/memory/cgroup.procs"), Path("/g/unified/cgroup.procs")]
    argv, needs_preexec = process._launch_argv(["true", "x"], {"PATH": "/usr/bin:/bin"}, files)
    if needs_preexec:
        pytest.skip("util-linux setpriv is not installed here")
    assert argv[1:4] == ["--pdeathsig", "KILL", "--"]
    join = argv.index("jobprobe-join")
    assert argv[join + 1 : join + 4] == ["2", *map(str, files)]
    assert argv[join + 4 :] == [shutil.which("true"), "x"]


def test_limits_a_host_cannot_apply_are_named(tmp_path: Path) -> None:
    limits = Limits(mem_bytes=2**30, cpus=1.0)
    assert "no writable memory, cpu control group" in (
        cgroups.Cgroups(hierarchies=[]).limits_problem(limits) or ""
    )
    memory_only = cgroups.Cgroups(hierarchies=[hierarchy(tmp_path, "memory")])
    assert "no writable cpu control group" in (memory_only.limits_problem(limits) or "")
    assert memory_only.limits_problem(Limits(mem_bytes=2**30)) is None
    assert memory_only.limits_problem(Limits()) is None
    assert isinstance(
        cgroups.Cgroups(enabled=False, hierarchies=[]).create("x", 1), cgroups.ProcessTreeGroup
    )


def test_v2_controllers_are_passed_down_but_a_hierarchy_root_is_never_written(
    tmp_path: Path,
) -> None:
    delegated = hierarchy(tmp_path / "a", "unified", 2)
    root = discovery.Hierarchy(2, frozenset(), tmp_path / "b", tmp_path / "b")
    for h in (delegated, root):
        h.own.mkdir(parents=True, exist_ok=True)
        (h.own / "cgroup.controllers").write_text("cpu io memory pids\n")
        (h.own / "cgroup.subtree_control").write_text("")
    for h in (delegated, root):
        group = cgroups.Cgroups(hierarchies=[h]).create("v2job", 1)
        assert isinstance(group, cgroups.V2Group)
        group.remove()
    assert (delegated.own / "cgroup.subtree_control").read_text() != ""  # +cpu ... written
    assert (root.own / "cgroup.subtree_control").read_text() == ""  # the root: left alone
