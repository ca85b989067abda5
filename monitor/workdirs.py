"""Where a job runs on a worker: one directory per attempt, its logs inside.

``DATA_DIR/jobs/<job id>/attempt-<n>/`` holds the script, ``stdout.log``, ``stderr.log`` and
whatever the job writes. The worker creates it; ``jobprobe logs`` reads a running job's log
from it on the same machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

Stream = Literal["stdout", "stderr"]
#: The file each stream of a job is written to, inside its attempt directory.
LOG_FILES: dict[Stream, str] = {"stdout": "stdout.log", "stderr": "stderr.log"}
_PREFIX = "attempt-"


def attempt_dir(data_dir: Path, job_id: str, attempt: int) -> Path:
    """The directory attempt ``attempt`` of job ``job_id`` runs in."""
    return data_dir / "jobs" / job_id / f"{_PREFIX}{attempt}"


def latest_attempt_dir(data_dir: Path, job_id: str) -> Path | None:
    """The directory of the job's highest-numbered attempt on this machine, or None."""
    attempts = [
        (int(path.name.removeprefix(_PREFIX)), path)
        for path in (data_dir / "jobs" / job_id).glob(f"{_PREFIX}*")
        if path.name.removeprefix(_PREFIX).isdigit()
    ]
    return max(attempts)[1] if attempts else None


def log_path(workdir: Path, stream: Stream) -> Path:
    """The log file of ``stream`` in an attempt directory."""
    return workdir / LOG_FILES[stream]
