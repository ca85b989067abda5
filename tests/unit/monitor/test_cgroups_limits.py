"""Job limits: parsed once (monitor.limits), defaults from the tool registry and settings, bad
values refused at submit with one line and nothing stored."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jobprobe.monitor import errors
from jobprobe.monitor import limits as lim
from jobprobe.monitor.tools import load_registry
from jobprobe.store import job_reads


@pytest.mark.parametrize(
    ("text", "size"),
    [("4G", 4 * 2**30), ("512M", 512 * 2**20), ("1.5GiB", 3 * 2**29), ("65536k", 64 * 2**20),
     ("268435456", 256 * 2**20), (2**27, 2**27)],
)  # fmt: skip
def test_memory_sizes(text: str | int, size: int) -> None:
    assert lim.parse_mem(text) == size


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mem": "4X"}, "--mem must be a size such as 512M or 4G (got '4X')"),
        ({"mem": "-1G"}, "--mem must be a size"),
        ({"mem": "1K"}, "--mem must be at least 4M"),
        ({"mem": "100T"}, "is more than this host's"),
        ({"cpus": "0"}, "--cpus must be more than 0"),
        ({"cpus": "-2"}, "--cpus must be more than 0"),
        ({"cpus": "nan"}, "--cpus must be more than 0"),
        ({"cpus": "lots"}, "--cpus must be a number of CPUs"),
        ({"cpus": str((os.cpu_count() or 1) + 1)}, "CPUs"),
        ({"max_procs": "0"}, "--max-procs must be 1 or more"),
        ({"max_procs": "2.5"}, "--max-procs must be a whole number"),
    ],
)
def test_bad_limits_are_one_line_that_says_what_to_do(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(errors.LimitError) as info:
        lim.parse(**kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_asked_limits_win_over_the_tools_then_the_settings() -> None:
    asked = lim.Limits(cpus=1.0)
    tool = lim.Limits(cpus=0.5, mem_bytes=2**30)
    settings = lim.Limits(mem_bytes=2**29, max_procs=100)
    assert lim.resolve(asked, tool, settings) == lim.Limits(
        mem_bytes=2**30, cpus=1.0, max_procs=100
    )
    assert not lim.Limits() and lim.Limits(max_procs=1)


def test_the_tool_registry_declares_default_limits(tmp_path: Path) -> None:
    path = tmp_path / "tools.toml"
    path.write_text(
        '[tools.sim]\ncommand = ["sim", "{script}"]\nmem = "1G"\ncpus = 1.5\nmax_procs = 32\n'
    )
    tool = load_registry(path)["sim"]
    assert tool.limits == lim.Limits(mem_bytes=2**30, cpus=1.5, max_procs=32)
    path.write_text('[tools.sim]\ncommand = ["sim", "{script}"]\nmem = "lots"\n')
    with pytest.raises(errors.ToolError, match="tool 'sim': mem must be a size"):
        load_registry(path)


@pytest.mark.parametrize(
    ("limits", "message"),
    [({"mem": "4X"}, "--mem must be a size"), ({"cpus": 0}, "--cpus must be more than 0"),
     ({"cpus": 4096}, "more than this host's"), ({"max_procs": -3}, "--max-procs must be 1")],
)  # fmt: skip
def test_submit_refuses_bad_limits_and_stores_nothing(
    tmp_path: Path, limits: dict[str, object], message: str
) -> None:
    from jobprobe.tasks import errors as task_errors
    from jobprobe.tasks import submission
    from jobprobe.worker import runtime
    from jobprobe.worker.settings import load_settings

    settings = load_settings(data_dir=tmp_path / "data")
    script = tmp_path / "job.py"
    script.write_text("print('hi')\n")
    with pytest.raises(task_errors.SubmitError, match=message):
        submission.create("python", script, settings=settings, **limits)  # type: ignore[arg-type]
    with runtime.get_store(settings).reader() as reader:
        assert job_reads.job_history(reader, limit=10) == []


def test_settings_defaults_apply_when_nothing_else_sets_a_limit() -> None:
    chosen = lim.for_submit(
        mem=None, cpus=None, max_procs=None, tool=lim.Limits(cpus=1.0), local=False,
        defaults={"mem": "256M", "cpus": 0.5, "max_procs": 50},
    )  # fmt: skip
    assert chosen == lim.Limits(mem_bytes=2**28, cpus=1.0, max_procs=50)
    with pytest.raises(errors.LimitError, match="settings: mem must be a size"):
        lim.for_submit(mem=None, cpus=None, max_procs=None, tool=lim.Limits(), local=False,
                       defaults={"mem": "big"})  # fmt: skip


def test_the_record_shows_limits_accounting_and_leaks(tmp_path: Path) -> None:
    from jobprobe.store import attempts, records
    from jobprobe.store import jobs as store_jobs
    from jobprobe.store.db import Store

    store = Store(f"sqlite:///{tmp_path / 'jp.db'}")
    with store.session() as session:
        job_id = store_jobs.create_job(
            session, tool="python", queue="cpu", mem_limit_bytes=2**30, cpu_limit=1.5
        ).id
    with store.transaction() as conn:
        claim = attempts.begin_attempt(conn, job_id, worker="w", max_attempts=3)
        assert claim is not None and (claim.mem_limit_bytes, claim.cpu_limit) == (2**30, 1.5)
        attempts.finish_job(conn, job_id, {
            "status": "success", "returncode": 0, "containment": {
                "accounting": "cgroup-v1", "leaked_processes": 2, "leaked_killed": True,
                "limits": {"applied": False, "reason": "no cpu controller"},
                "group_usage": {"memory_anon_mb": 12.5},
            },
        })  # fmt: skip
    with store.session() as session:
        rec = records.load_record(session, job_id)
    assert rec["accounting"] == "cgroup-v1" and rec["leaked_processes"] == 2
    assert rec["limits"] == {"mem_bytes": 2**30, "mem_mb": 1024.0, "cpus": 1.5, "max_procs": None,
                             "applied": False, "reason": "no cpu controller"}  # fmt: skip
    assert rec["limits_applied"] is False and rec["group_usage"] == {"memory_anon_mb": 12.5}
    assert set(rec["resource_usage"]) == {
        "cpu_user_seconds", "cpu_system_seconds", "cpu_total_seconds", "memory_peak_mb",
    }  # fmt: skip


def test_a_registry_may_declare_more_than_this_host_has_but_submit_refuses_it(
    tmp_path: Path,
) -> None:
    # Workers of every size read one registry: it is checked for form there, and the limits a
    # job ends up with are checked against the host at submit.
    path = tmp_path / "tools.toml"
    path.write_text('[tools.big]\ncommand = ["sim", "{script}"]\ncpus = 4096\nmem = "1000T"\n')
    tool = load_registry(path)["big"]
    assert tool.limits.cpus == 4096
    with pytest.raises(
        errors.LimitError, match=r"the job's default limits: .* more than this host"
    ):
        lim.for_submit(mem=None, cpus=None, max_procs=None, tool=tool.limits, local=False,
                       defaults={})  # fmt: skip
    fits = lim.for_submit(mem="1G", cpus=1, max_procs=None, tool=tool.limits, local=False,
                          defaults={})  # fmt: skip
    assert fits == lim.Limits(mem_bytes=2**30, cpus=1.0)
