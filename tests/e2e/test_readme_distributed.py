"""The README's distributed set-up, run command by command as a user would paste it.

The block is read from README.md and run by bash, with these changes only, so that the test
neither touches a real installation's names nor waits on a long-running command:
- names made private to the run: the database (`jobprobe` -> a fresh one, created by the
  block's own `createdb`), the Redis database number, Flower's port, beat's schedule file;
- `celery ...` lines (worker, beat, Flower) start in the background, as a user starts them in
  their own terminals;
- `pip install -e ".[flower]"` is skipped where Flower is already installed (it would only
  reinstall this checkout), `useradd` where the account exists;
- `JOBPROBE_JOB_USER=worker`: this machine's Python lives where the job account cannot run it
  (the README says the account needs a Python installed for all users).
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests import services, workers

pytestmark = pytest.mark.e2e
README = (workers.ROOT / "README.md").read_text()


def _block() -> list[str]:
    """The commands of the README's distributed set-up block, comments removed."""
    section = README.split("## Distributed set-up", 1)[1]
    body = section.split("```bash\n", 1)[1].split("\n```", 1)[0]
    lines = [re.sub(r"\s+# .*$", "", line).strip() for line in body.splitlines()]
    return [line for line in lines if line]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _script(lines: list[str], *, database: str, redis_db: int, flower_port: int, tmp: Path) -> str:
    out = ["set -e", f"cd {workers.ROOT}", f": > {tmp}/pids"]
    for line in lines:
        line = line.replace("127.0.0.1:5432/jobprobe", f"127.0.0.1:5432/{database}")
        line = line.replace("127.0.0.1:6379/0", f"127.0.0.1:6379/{redis_db}")
        line = line.replace("--port=5555", f"--port={flower_port}")
        line = line.replace("/tmp/jobprobe-beat-schedule", f"{tmp}/beat-schedule")
        if line.startswith("createdb"):
            line = re.sub(r"jobprobe$", database, line)
        if line.startswith("pip install") and importlib.util.find_spec("flower") is not None:
            continue
        if line.startswith("useradd"):
            name = line.split()[-1]
            try:
                pwd.getpwnam(name)
                continue
            except KeyError:
                pass
        if re.match(r"^(\w+=\S*\s+)*celery\s", line):
            name = f"celery{len(out)}"
            out.append(f"({line}) > {tmp}/{name}.log 2>&1 &")
            out.append(f"echo $! >> {tmp}/pids")
            continue
        out.append(line)
    # What the test reads back: Flower's login, from the block's own export.
    out.insert(-1, f'echo "$FLOWER_USER:$FLOWER_PASSWORD" > {tmp}/flower-login')
    return "\n".join(out) + "\n"


def _stop(pids_file: Path) -> None:
    if not pids_file.exists():
        return
    for pid in map(int, pids_file.read_text().split()):
        try:
            os.killpg(os.getpgid(pid), signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + 20
    for pid in map(int, pids_file.read_text().split()):
        while time.monotonic() < deadline:
            try:
                os.killpg(os.getpgid(pid), 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)


def test_the_readme_distributed_set_up_runs_a_job(redis_url: str, tmp_path: Path) -> None:
    services.require_postgres()
    for tool in ("createdb", "celery", "jobprobe", "openssl"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not on PATH")
    database = f"jobprobe_readme_{uuid.uuid4().hex[:8]}"
    flower_port = _free_port()
    script = _script(
        _block(), database=database, redis_db=1 + uuid.uuid4().int % 15,
        flower_port=flower_port, tmp=tmp_path,
    )  # fmt: skip
    (tmp_path / "setup.sh").write_text(script)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
    env |= {"JOBPROBE_JOB_USER": "worker", "JOBPROBE_DATA_DIR": str(tmp_path / "data")}
    try:
        # `set -m`: each background command in its own process group, stopped as a whole.
        run = subprocess.run(
            ["bash", "-c", f"set -m; source {tmp_path / 'setup.sh'}"], env=env,
            capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        logs = {p.name: p.read_text() for p in tmp_path.glob("celery*.log")}
        assert run.returncode == 0, (run.stdout[-3000:], run.stderr[-3000:], logs)
        assert "status         success" in run.stdout, run.stdout
        # Flower answers with the login the block made, and refuses without it.
        login = (tmp_path / "flower-login").read_text().strip()
        url = f"http://127.0.0.1:{flower_port}/api/workers?refresh=1"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 401
        request = urllib.request.Request(
            url, headers={"Authorization": f"Basic {base64.b64encode(login.encode()).decode()}"}
        )
        seen: dict[str, object] = {}
        for _ in range(30):  # Flower asks the workers in the background after it starts
            with urllib.request.urlopen(request, timeout=10) as answer:
                seen = json.load(answer)
            if any(name.startswith("cpu1@") for name in seen):
                break
            time.sleep(0.5)
        assert any(name.startswith("cpu1@") for name in seen), seen
    finally:
        _stop(tmp_path / "pids")
        services.drop_pg_database(database)
