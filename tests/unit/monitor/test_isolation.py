"""Who a job runs as, its environment from scratch, and its working directory's hand-back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jobprobe.monitor import errors, isolation
from jobprobe.monitor.job_monitor import JobSpec, job_environment
from jobprobe.monitor.tools import Tool, _parse_registry


def test_worker_means_the_workers_own_user() -> None:
    account = isolation.resolve("worker")
    assert account.uid == os.geteuid() and not account.switch and account.reason


def test_a_missing_account_stops_the_job_with_how_to_create_it() -> None:
    with pytest.raises(errors.LaunchError, match="useradd --system"):
        isolation.resolve("no-such-account-9c1e")


def test_the_tool_user_wins_over_the_setting() -> None:
    with pytest.raises(errors.LaunchError, match="tool-account-77"):
        isolation.resolve("worker", "tool-account-77")


def test_the_registry_takes_a_user() -> None:
    tools = _parse_registry('[tools.t]\ncommand = ["true"]\nuser = "sim"\n', "t.toml")
    assert tools["t"].user == "sim"


def test_the_environment_is_built_from_scratch(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "JOBPROBE_DATABASE_URL": "postgresql://u:pw@h/db", "CLIENT_SECRET": "s",
        "AWS_SECRET_ACCESS_KEY": "a", "OPENAI_API_KEY": "o", "SOME_TOKEN": "t",
        "CUDA_VISIBLE_DEVICES": "1", "LANG": "C.UTF-8",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    spec = JobSpec(
        job_id="j1", tool=Tool(name="t", command=("true",), env={"OMP_NUM_THREADS": "2"}),
        script_name="s", script_content=None, timeout_s=1, params={"n": 3, "mode": "fast"},
    )  # fmt: skip
    env = job_environment(spec, "/w", "sim")
    expected = {
        "PATH", "LANG", "CUDA_VISIBLE_DEVICES", "HOME", "USER", "LOGNAME", "OMP_NUM_THREADS",
        "SIM_N", "SIM_MODE", "JOBPROBE_JOB_ID", "JOBPROBE_PARAMS", "JOBPROBE_WORKDIR",
        "JOBPROBE_METRICS_FILE",
    }  # fmt: skip
    locale = {k for k in env if k.startswith("LC_")} | {"TERM", "TZ", "LANGUAGE"}
    assert expected <= set(env) <= expected | locale
    assert env["HOME"] == "/w" and env["CUDA_VISIBLE_DEVICES"] == "1"


def test_reclaim_removes_links_that_lead_outside(tmp_path: Path) -> None:
    workdir = tmp_path / "job"
    workdir.mkdir()
    (workdir / "out.txt").write_text("x")
    (workdir / "inside").symlink_to(workdir / "out.txt")
    (workdir / "outside").symlink_to("/proc/self/environ")
    os.mkfifo(workdir / "stdout.log")
    me = isolation.Account(name="x", uid=os.geteuid(), gid=os.getegid(), switch=True)
    isolation.reclaim(workdir, me)
    assert sorted(p.name for p in workdir.iterdir()) == ["inside", "out.txt"]


def test_reclaim_removes_files_the_job_does_not_own(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to make a file another user owns")
    workdir = tmp_path / "job"
    workdir.mkdir()
    secret = tmp_path / "worker-secret"
    secret.write_text("s")
    os.chown(secret, 54321, 54321)  # stands for a file the job could hard-link, not its own
    os.link(secret, workdir / "stdout.log")
    (workdir / "own.txt").write_text("x")
    me = isolation.Account(name="x", uid=os.geteuid(), gid=os.getegid(), switch=True)
    isolation.reclaim(workdir, me)
    assert sorted(p.name for p in workdir.iterdir()) == ["own.txt"]
