"""Per-job uids: the range setting, and one uid per running job (real locks, real /proc)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from jobprobe.monitor import errors, job_uids


def test_the_range_is_first_to_last_or_off() -> None:
    assert job_uids.parse_range("1900000000-1900000009") == job_uids.UidRange(
        1900000000, 1900000009
    )
    assert job_uids.parse_range(" OFF ") is None
    for bad in ("1000-2000", "5-3", "70000-69999", "abc", "70000", "70000-99999999999"):
        with pytest.raises(ValueError):
            job_uids.parse_range(bad)


def test_each_claim_gets_a_uid_no_other_holds(tmp_path: Path) -> None:
    uids = job_uids.UidRange(1900000000, 1900000002)
    claims = [job_uids.claim(uids, tmp_path) for _ in range(3)]
    assert sorted(c.uid for c in claims) == [1900000000, 1900000001, 1900000002]
    with pytest.raises(errors.LaunchError, match="in use; widen the range"):
        job_uids.claim(uids, tmp_path)
    claims[1].release()
    claims[1].release()  # twice is harmless
    again = job_uids.claim(uids, tmp_path)
    assert again.uid == claims[1].uid
    for claim in (claims[0], claims[2], again):
        claim.release()
    assert list(tmp_path.iterdir()) == []


def test_a_uid_that_owns_a_process_is_skipped(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("starting a process under another uid needs root and setpriv")
    busy = 1900000100
    sleeper = subprocess.Popen(
        ["setpriv", f"--reuid={busy}", f"--regid={busy}", "--clear-groups", "sleep", "30"]
    )
    try:
        for _ in range(100):  # until setpriv has switched
            if Path(f"/proc/{sleeper.pid}").stat().st_uid == busy:
                break
            time.sleep(0.02)
        claim = job_uids.claim(job_uids.UidRange(busy, busy + 1), tmp_path)
        assert claim.uid == busy + 1
        claim.release()
    finally:
        sleeper.kill()
        sleeper.wait()
