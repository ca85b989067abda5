"""The layout of a job's attempt directories, shared by the worker and ``jobprobe logs``."""

from __future__ import annotations

from pathlib import Path

from jobprobe.monitor import workdirs


def test_attempt_dir_and_log_paths(tmp_path: Path) -> None:
    workdir = workdirs.attempt_dir(tmp_path, "abc123", 2)
    assert workdir == tmp_path / "jobs" / "abc123" / "attempt-2"
    assert workdirs.log_path(workdir, "stdout") == workdir / "stdout.log"
    assert workdirs.log_path(workdir, "stderr") == workdir / "stderr.log"


def test_latest_attempt_is_the_highest_number_not_the_last_name(tmp_path: Path) -> None:
    assert workdirs.latest_attempt_dir(tmp_path, "abc123") is None
    for attempt in (1, 2, 10):
        workdirs.attempt_dir(tmp_path, "abc123", attempt).mkdir(parents=True)
    (tmp_path / "jobs" / "abc123" / "attempt-notes").mkdir()
    assert workdirs.latest_attempt_dir(tmp_path, "abc123") == workdirs.attempt_dir(
        tmp_path, "abc123", 10
    )
