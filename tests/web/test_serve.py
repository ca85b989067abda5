"""``jobprobe serve`` as a user starts it: a subprocess that prints its address and serves
the API, the docs and /metrics on 127.0.0.1; the addresses it refuses."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests import workers

pytestmark = pytest.mark.e2e


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
    return (
        base
        | {"JOBPROBE_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(workers.ROOT)}
        | extra
    )


def test_serve_prints_its_address_and_serves(tmp_path: Path) -> None:
    token_file = tmp_path / "read-token"
    token_file.write_text("a-read-token-from-a-file-5e1\n")
    env = _env(tmp_path, JOBPROBE_WEB_READ_TOKEN_FILE=str(token_file))
    proc = subprocess.Popen(
        [sys.executable, str(workers.ROOT / "cli.py"), "serve", "--port", "0", "--json",
         "--log-level", "warning"],
        cwd=workers.ROOT, env=workers.JOB_USER | env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # printed before serving; readline ends with the process
        assert first, proc.communicate(timeout=30)
        address = json.loads(first)
        assert address["host"] == "127.0.0.1" and address["mode"] == "embedded"
        url = address["url"]
        with httpx.Client(base_url=url, timeout=30) as http:
            assert http.get("/api/v1/jobs").json() == {"jobs": [], "next_cursor": None}
            assert "/api/v1/jobs/{job_id}" in http.get("/api/v1/openapi.json").json()["paths"]
            docs = http.get("/api/docs").text
            assets = re.findall(r"(?:src|href)=['\"]([^'\"]+)", docs)
            assert assets and all(a.startswith("/static/vendor/swagger-ui/") for a in assets)
            assert all(http.get(a).status_code == 200 for a in assets)  # no CDN: served here
            assert "jobprobe_store_up 1.0" in http.get("/metrics").text
            remote = {"X-Forwarded-For": "203.0.113.9"}
            assert http.get("/api/v1/jobs", headers=remote).status_code == 401
            token = {"Authorization": "Bearer a-read-token-from-a-file-5e1"}
            assert http.get("/api/v1/jobs", headers=remote | token).status_code == 200
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr  # an interrupt exits 130, as every command
    assert "a-read-token-from-a-file-5e1" not in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.2"])
def test_serve_refuses_beyond_loopback_without_a_read_token(tmp_path: Path, host: str) -> None:
    out = workers.run_cli(["serve", "--host", host], _env(tmp_path), timeout=60)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert len(lines) == 1 and "JOBPROBE_WEB_READ_TOKEN" in lines[0] and host in lines[0], lines


def test_serve_on_a_busy_port_says_so(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        out = workers.run_cli(["serve", "--port", str(port)], _env(tmp_path), timeout=60)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0], lines


def test_an_empty_read_token_is_no_token(tmp_path: Path) -> None:
    """compose gives an unset variable as an empty string: that never opens the server."""
    env = _env(tmp_path, JOBPROBE_WEB_READ_TOKEN="")
    out = workers.run_cli(["serve", "--host", "0.0.0.0"], env, timeout=60)
    assert out.returncode == 2 and "JOBPROBE_WEB_READ_TOKEN" in out.stderr, out.stderr


def test_a_database_that_goes_away_is_503_and_no_password_is_shown(tmp_path: Path) -> None:
    """PostgreSQL here trusts local connections, so a URL with a password works; once the
    database is dropped every answer says so in one line, the password masked, and so does
    the log; /metrics says the store is down."""
    from tests import services

    url, name = services.create_pg_database()
    password = "s3cret-passw0rd-of-the-test"
    env = _env(tmp_path, JOBPROBE_DATABASE_URL=url.replace("postgres@", f"postgres:{password}@"))
    proc = subprocess.Popen(
        [sys.executable, str(workers.ROOT / "cli.py"), "serve", "--port", "0", "--json"],
        cwd=workers.ROOT, env=workers.JOB_USER | env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first, proc.communicate(timeout=30)
        with httpx.Client(base_url=json.loads(first)["url"], timeout=30) as http:
            assert http.get("/api/v1/jobs").status_code == 200
            services.drop_pg_database(name)
            answers = [http.get(path) for path in ("/api/v1/jobs", "/api/v1/workers")]
            metrics = http.get("/metrics").text
        proc.send_signal(signal.SIGINT)
        out, log = proc.communicate(timeout=30)
    finally:
        services.drop_pg_database(name)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    for answer in answers:
        assert answer.status_code == 503, answer.text
        message = answer.json()["error"]
        assert "cannot reach the database" in message and "postgres:***@" in message, message
        assert password not in answer.text
    assert "jobprobe_store_up 0.0" in metrics and "jobprobe_jobs{" not in metrics
    assert password not in log and password not in out
    assert "postgres:***@" in log  # the scrape's warning, masked
