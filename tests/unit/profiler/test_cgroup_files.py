"""Control-group figures from files recorded on a real v1 group (kernel 6.18) and v2 files
written from the kernel's cgroup-v2 documentation (tests/data/cgroup/)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jobprobe.profiler import cgroup, cgroup_files

DATA = Path(__file__).resolve().parents[2] / "data" / "cgroup"
MB = 1024.0 * 1024.0


def v1_paths(root: Path = DATA / "v1") -> dict[str, Path]:
    """The recorded hybrid group: v1 controllers plus the v2 group holding only cpu.stat."""
    return {c: root / c for c in ("cpuacct", "memory", "blkio", "pids", "unified")}


def test_v1_recorded_figures_are_the_files_values() -> None:
    figures, reasons = cgroup.read_totals_with_reasons(v1_paths())
    assert reasons == {"memory_limit_mb": "no memory limit set"}
    # usage_user/usage_sys (tick-sampled, 6.700 s together) split the exact usage (6.709 s).
    user = 6.708809895 * 2785056924 / (2785056924 + 3914993635)
    assert figures == {
        "cpu_user_seconds": pytest.approx(user),
        "cpu_system_seconds": pytest.approx(6.708809895 - user),
        "cpu_total_seconds": pytest.approx(6.708809895),
        "memory_peak_mb": pytest.approx(210677760 / MB),
        "memory_current_mb": pytest.approx(190930944 / MB),
        "memory_anon_mb": pytest.approx(155795456 / MB),
        "memory_cache_mb": pytest.approx(33226752 / MB),
        "memory_shmem_mb": pytest.approx(1048576 / MB),
        "memory_limit_mb": None,
        "oom_kills": 0,
        "io_read_bytes": 31551488,
        "io_write_bytes": 52436992,
        "io_read_ops": 53,
        "io_write_ops": 51,
        "tasks_current": 4,
        "tasks_peak": 6,
    }
    assert cgroup.read_totals(v1_paths()) == figures
    assert cgroup.accounting(v1_paths()) == "cgroup-v1"


def test_v1_cpuacct_stat_ticks_are_scaled_to_the_exact_total(tmp_path: Path) -> None:
    cpuacct = tmp_path / "cpuacct"
    cpuacct.mkdir()
    for name in ("cpuacct.usage", "cpuacct.stat"):
        shutil.copy(DATA / "v1" / "cpuacct" / name, cpuacct / name)
    figures = cgroup.read_totals({"cpuacct": cpuacct})
    total = 6.708809895
    assert figures["cpu_total_seconds"] == pytest.approx(total)
    # cpuacct.stat: user 278, system 392 ticks
    assert figures["cpu_user_seconds"] == pytest.approx(total * 278 / 670)
    assert figures["cpu_system_seconds"] == pytest.approx(total * 392 / 670)


def test_v1_blkio_without_a_rule_is_null_with_a_reason_not_zero() -> None:
    files = {
        "blkio/blkio.throttle.io_service_bytes": "Total 0\n",
        "blkio/blkio.throttle.io_serviced": "Total 0\n",
        "blkio/blkio.throttle.read_bps_device": "",
        "blkio/blkio.throttle.write_bps_device": "",
    }
    figures, reasons = cgroup_files.io(files)
    assert figures == dict.fromkeys(figures)
    assert "throttle rule" in reasons["io_read_bytes"]
    files["blkio/blkio.throttle.read_bps_device"] = "254:0 1099511627776\n"
    figures, reasons = cgroup_files.io(files)
    assert figures["io_write_bytes"] == 0 and reasons == {}


def test_v2_documented_files() -> None:
    figures, reasons = cgroup.read_totals_with_reasons({"unified": DATA / "v2"})
    assert reasons == {"memory_limit_mb": "no memory limit set"}
    assert figures == {
        "cpu_user_seconds": pytest.approx(5.210477),
        "cpu_system_seconds": pytest.approx(2.211461),
        "cpu_total_seconds": pytest.approx(7.421938),
        "memory_peak_mb": pytest.approx(432.0),
        "memory_current_mb": pytest.approx(304.0),
        "memory_anon_mb": pytest.approx(200.0),
        "memory_cache_mb": pytest.approx(100.0),
        "memory_shmem_mb": pytest.approx(8.0),
        "memory_limit_mb": None,
        "oom_kills": 0,
        "io_read_bytes": 1459200 + 90898432,
        "io_write_bytes": 314773504 + 299008,
        "io_read_ops": 192 + 8950,
        "io_write_ops": 353 + 76,
        "tasks_current": 5,
        "tasks_peak": 9,
    }
    assert cgroup.accounting({"unified": DATA / "v2"}) == "cgroup-v2"


def test_v2_limit_oom_and_older_kernel_without_peak() -> None:
    files = {
        "unified/memory.current": "1048576\n",
        "unified/memory.max": "4294967296\n",
        "unified/memory.events": "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n",
    }
    figures, reasons = cgroup_files.memory(files)
    assert figures["memory_limit_mb"] == 4096.0
    assert figures["oom_kills"] == 1
    assert figures["memory_current_mb"] == 1.0
    assert figures["memory_peak_mb"] is None and "memory.peak" in reasons["memory_peak_mb"]


def test_missing_group_gives_nulls_with_reasons_never_zero(tmp_path: Path) -> None:
    figures, reasons = cgroup.read_totals_with_reasons({"memory": tmp_path / "gone"})
    assert set(figures) == set(cgroup_files.KEYS)
    assert all(v is None for v in figures.values())
    assert set(reasons) == set(cgroup_files.KEYS)


def test_tasks_without_pids_controller_count_the_task_list() -> None:
    figures, reasons = cgroup_files.tasks({"memory/tasks": "12\n13\n14\n"})
    assert figures == {"tasks_current": 3, "tasks_peak": None}
    assert "pids.peak" in reasons["tasks_peak"]


def test_sampler_on_recorded_group_reports_raw_figures() -> None:
    sampler = cgroup.CgroupSampler(v1_paths(), top_every=0)
    s = sampler.sample()
    assert s["proc_cpu_seconds"] == pytest.approx(6.708809895)
    assert s["proc_user_seconds"] == pytest.approx(6.708809895 * 2785056924 / 6700050559)
    assert s["cg_mem_peak_mb"] == pytest.approx(210677760 / MB)
    assert s["cg_mem_anon_mb"] == pytest.approx(155795456 / MB)
    assert s["proc_read_bytes"] == 31551488 and s["proc_write_count"] == 51
    assert s["proc_threads"] == 4 and s["cg_tasks_peak"] == 6
    assert s["proc_count"] is None  # no cgroup.procs recorded: unknown, not 0
    assert s["cg_top"] is None
    assert set(s) == set(cgroup.CgroupSampler.keys)
    assert sampler.accounting == "cgroup-v1"


def test_sampler_unavailable_without_a_readable_group(tmp_path: Path) -> None:
    from jobprobe.profiler import errors

    with pytest.raises(errors.SamplerUnavailable):
        cgroup.CgroupSampler({"memory": tmp_path / "gone", "unified": tmp_path / "none"})


def test_every_figure_says_what_it_means() -> None:
    assert set(cgroup_files.MEANING) == set(cgroup_files.KEYS)


def test_sampler_without_pids_controller_counts_the_task_list(tmp_path: Path) -> None:
    shutil.copytree(DATA / "v1" / "memory", tmp_path / "memory")
    (tmp_path / "memory" / "tasks").write_text("101\n102\n103\n")
    sampler = cgroup.CgroupSampler({"memory": tmp_path / "memory"}, top_every=0)
    assert sampler.sample()["proc_threads"] == 3
