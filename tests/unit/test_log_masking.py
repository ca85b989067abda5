"""Worker logs: secrets masked in messages and tracebacks, through the real logging module."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

from jobprobe.worker import log_masking
from tests import workers

SECRET = "iss-secret-4c1d9e"
URL = "postgresql+psycopg://jobprobe:db-pass-77aa01@db:5432/jobprobe"


def test_messages_and_tracebacks_are_masked() -> None:
    logger = logging.getLogger("jobprobe.test.masking")
    logger.propagate = False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        log_masking.install(logger, [SECRET])
        log_masking.install(logger, [SECRET])  # once per handler
        assert len(handler.filters) == 1
        logger.warning("token %s for %s", SECRET, URL)
        try:
            raise RuntimeError(f"cannot connect to {URL} with {SECRET}")
        except RuntimeError:
            logger.exception("job failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert SECRET not in text and "db-pass-77aa01" not in text
    assert "token *** for postgresql+psycopg://jobprobe:***@db:5432/jobprobe" in text
    assert "RuntimeError: cannot connect to postgresql+psycopg://jobprobe:***@db" in text


def test_a_worker_process_masks_what_celery_logs() -> None:
    """In a process that builds the app, Celery's own logger setup installs the filter, with the
    secrets of that process's environment."""
    code = (
        "import logging\n"
        "from jobprobe.worker.app import create_app\n"
        "app = create_app()\n"
        "app.log.setup(loglevel='INFO', redirect_stdouts=False)\n"
        f"logging.getLogger('celery').warning('secret is {SECRET}')\n"
    )
    env = workers.JOB_USER | {"JOBPROBE_ISS_CLIENT_SECRET": SECRET, "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=workers.ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "secret is ***" in out.stderr and SECRET not in out.stderr + out.stdout


SERVE_LOGS = """
import logging, sys
from jobprobe.commands.serve import _mask_logs
from jobprobe.worker.settings import load_settings
_mask_logs(load_settings())
logging.getLogger("some.library").warning("retrying %s", sys.argv[1])
logging.getLogger("jobprobe.store").error("token was %s", sys.argv[2])
"""


def test_serve_masks_what_any_logger_writes(tmp_path: Path) -> None:
    """A library's warning has no handler of its own: it reaches the root, which ``serve``
    masks (logging's last resort would print it as it came)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
    env |= {"JOBPROBE_DATA_DIR": str(tmp_path), "JOBPROBE_WEB_WRITE_TOKEN": SECRET,
            "PYTHONPATH": str(workers.ROOT)}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", SERVE_LOGS, URL, SECRET], cwd=workers.ROOT, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "retrying postgresql+psycopg://jobprobe:***@db:5432/jobprobe" in out.stderr
    assert "token was ***" in out.stderr
    assert SECRET not in out.stderr and "db-pass-77aa01" not in out.stderr
