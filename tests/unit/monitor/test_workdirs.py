"""The layout of a job's attempt directories, shared by the worker and ``jobprobe logs``; the
worker's housekeeping of them (old directories removed, oversized logs trimmed) and its
data directory check."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

from jobprobe.monitor import workdirs
from jobprobe.worker.disk import housekeeping, problem
from jobprobe.worker.settings import Settings


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


def test_a_200_mb_log_keeps_its_head_and_tail_with_a_note(tmp_path: Path) -> None:
    workdir = workdirs.attempt_dir(tmp_path, "big", 1)
    workdir.mkdir(parents=True)
    log = workdirs.log_path(workdir, "stdout")
    line = b"0123456789abcdef" * 4 + b"\n"  # 65 bytes
    with log.open("wb") as fh:
        fh.write(b"HEAD\n")
        chunk = line * 16384  # about 1 MB
        for _ in range(200):
            fh.write(chunk)
        fh.write(b"TAIL\n")
    size = log.stat().st_size
    assert size > 200 * 2**20
    old = time.time() - 120
    os.utime(log, (old, old))

    settings = Settings(data_dir=tmp_path, log_max_mb=1.0)
    assert housekeeping(settings) == {"removed": 0, "trimmed": 1}
    data = log.read_bytes()
    half = 2**20 // 2
    assert len(data) < 2**20 + 200
    assert data.startswith(b"HEAD\n") and data.endswith(b"TAIL\n")
    assert f"[jobprobe: {size - 2 * half} bytes cut from the middle".encode() in data
    assert data[-half:] == (b"HEAD\n" + line * (16384 * 200) + b"TAIL\n")[-half:]
    assert housekeeping(settings) == {"removed": 0, "trimmed": 0}  # once


def test_a_log_still_written_to_is_not_trimmed(tmp_path: Path) -> None:
    workdir = workdirs.attempt_dir(tmp_path, "live", 1)
    workdir.mkdir(parents=True)
    workdirs.log_path(workdir, "stderr").write_bytes(b"x" * 3 * 2**20)
    assert workdirs.trim_logs(tmp_path, max_bytes=2**20, idle_s=60) == 0


def test_old_job_directories_are_removed_recent_ones_kept(tmp_path: Path) -> None:
    for job, age_h in (("old", 200), ("recent", 1)):
        workdir = workdirs.attempt_dir(tmp_path, job, 1)
        workdir.mkdir(parents=True)
        (workdir / "out.dat").write_text("x")
        then = time.time() - age_h * 3600
        for path in (workdir / "out.dat", workdir, workdir.parent):
            os.utime(path, (then, then))
    settings = Settings(data_dir=tmp_path, job_dir_retention_hours=168)
    assert housekeeping(settings) == {"removed": 1, "trimmed": 0}
    assert sorted(p.name for p in (tmp_path / "jobs").iterdir()) == ["recent"]


def test_a_full_or_unwritable_data_directory_is_one_clear_line(tmp_path: Path) -> None:
    assert problem(tmp_path, 0.0) is None
    huge = problem(tmp_path, 1e12)  # more free space than any disk has
    assert huge is not None and huge.startswith(f"data directory {tmp_path} is full (")
    assert huge.endswith("MB free); free space or set JOBPROBE_DATA_DIR")
    full = workdirs.failure_reason(OSError(errno.ENOSPC, "No space left on device"), tmp_path)
    assert full.startswith(f"data directory {tmp_path} is full (")
    denied = workdirs.failure_reason(OSError(errno.EACCES, "Permission denied"), tmp_path)
    assert denied == (
        f"data directory {tmp_path} is not writable (Permission denied); "
        "fix its permissions or set JOBPROBE_DATA_DIR"
    )


def test_a_log_a_job_replaced_by_a_link_is_never_trimmed(tmp_path: Path) -> None:
    # A job owns its directory while it runs: its "log" may point at a file of the worker's.
    victim = tmp_path / "worker-file.db"
    victim.write_bytes(b"v" * 3 * 2**20)
    then = time.time() - 3600
    os.utime(victim, (then, then))
    workdir = workdirs.attempt_dir(tmp_path, "linked", 1)
    workdir.mkdir(parents=True)
    workdirs.log_path(workdir, "stdout").symlink_to(victim)
    os.link(victim, workdirs.log_path(workdir, "stderr"))
    assert workdirs.trim_logs(tmp_path, max_bytes=2**20, idle_s=60) == 0
    assert victim.read_bytes() == b"v" * 3 * 2**20


def test_a_log_is_read_only_when_it_is_the_jobs_own_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("db-password\n")
    attempt = tmp_path / "attempt"
    attempt.mkdir()
    log = attempt / "stdout.log"
    log.write_text("line 1\nline 2\n")
    assert workdirs.is_log_file(log) and workdirs.read_log_from(log, 7) == (b"line 2\n", 7)
    log.unlink()
    log.symlink_to(secret)  # what a running job could put in place of its log
    assert not workdirs.is_log_file(log) and workdirs.read_log_from(log) is None
    log.unlink()
    os.mkfifo(log)  # a FIFO would stall a reader
    assert not workdirs.is_log_file(log) and workdirs.read_log_from(log) is None
    assert workdirs.read_log_from(attempt / "missing.log") is None
