"""The baseline of ``job_throughput.py``: a bare Celery task running the same subprocess.

The worker loads it with ``--include bench.bare_tasks``; it is not part of jobprobe's app.
"""

from __future__ import annotations

import subprocess

from celery import shared_task

BARE_TRUE = "bench.bare_true"


@shared_task(name=BARE_TRUE)
def bare_true() -> int:
    """Run ``true`` and return its exit code (what a job without jobprobe would cost)."""
    return subprocess.run(["true"], check=False).returncode
