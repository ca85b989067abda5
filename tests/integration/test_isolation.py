"""A job cannot reach the worker's secrets, the store, the spool or another job's files.

Real processes: the CLI in embedded mode (the worker is the CLI process, as root) runs bash
jobs as the default account, ``jobprobe-job``, which the set-up creates when it is missing.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services, workers

pytestmark = pytest.mark.integration
ACCOUNT = "jobprobe-job"
SECRETS = {
    "JOBPROBE_ISS_CLIENT_SECRET": "iss-secret-7f3a91",
    "CLIENT_SECRET": "legacy-secret-0c55e2",
    "JOBPROBE_LLM_API_KEY": "llm-key-b2d8e4",
    "JOBPROBE_ISS_AWS_SECRET_ACCESS_KEY": "aws-secret-91c0aa",
}
DB_PASSWORD = "db-password-5e17c3"

PROBE = r"""
probe() { # name, command...: prints "name: DENIED" when the command fails
  name=$1; shift
  if out=$("$@" 2>/dev/null) && [ -n "$out" ]; then echo "$name: READ $out"; else echo "$name: DENIED"; fi
}
echo "uid: $(id -u) user: $USER home: $HOME"
echo "groups: $(id -G)"
probe parent-environ cat /proc/$PPID/environ
probe worker-environ cat /proc/$SIM_WORKER_PID/environ
probe test-environ cat /proc/$SIM_TEST_PID/environ
probe other-job-list ls "$SIM_OTHER"
probe other-job-file cat "$SIM_OTHER/private.txt"
probe other-job-script cat "$SIM_OTHER/first.sh"
probe spool-list ls "$SIM_DATA/spool"
probe spool-write sh -c "echo x > '$SIM_DATA/spool/planted' && echo wrote"
probe store-file head -c 64 "$SIM_DATA/jobprobe.db"
probe store-wal head -c 64 "$SIM_DATA/jobprobe.db-wal"
probe data-list ls "$SIM_DATA"
probe credentials cat "$SIM_CREDENTIALS"
probe env-secret sh -c 'env | grep -i -e secret -e password -e api_key -e database_url'
# A link the worker would follow as root when it reads the job's metrics and logs.
ln -sf /proc/$PPID/environ "$JOBPROBE_METRICS_FILE"
ln -sf "$SIM_CREDENTIALS" linked-credentials.txt
echo done
"""


@pytest.fixture(scope="module")
def account() -> Iterator[str]:
    """The job account (created here when missing, and then removed again)."""
    if os.geteuid() != 0:
        pytest.skip("isolation needs a worker running as root (it switches users)")
    if shutil.which("setpriv") is None or shutil.which("useradd") is None:
        pytest.skip("setpriv and useradd (util-linux, passwd) are needed")
    created = False
    try:
        pwd.getpwnam(ACCOUNT)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ACCOUNT],
            check=True, timeout=30,
        )  # fmt: skip
        created = True
    yield ACCOUNT
    if created:
        subprocess.run(["userdel", ACCOUNT], check=False, timeout=30)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'jobprobe.db'}"
        return
    url, name = services.create_pg_database()
    # Trust authentication ignores the password; it stands for a real one here.
    yield url.replace("postgres@", f"postgres:{DB_PASSWORD}@", 1)
    services.drop_pg_database(name)


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    out = workers.run_cli(args, env, timeout=120)
    return out


def test_a_job_reaches_nothing_of_the_worker_nor_of_other_jobs(
    account: str, database_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "spool").mkdir()
    credentials = tmp_path / "db-url"
    credentials.write_text(database_url + "\n")
    credentials.chmod(0o600)
    base = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
    env = base | SECRETS | {
        "JOBPROBE_DATA_DIR": str(data), "JOBPROBE_JOB_USER": account,
        "JOBPROBE_DATABASE_URL_FILE": str(credentials), "PYTHONPATH": str(workers.ROOT),
    }  # fmt: skip

    first_script = tmp_path / "first.sh"
    first_script.write_text("echo 'a private result' > private.txt\necho first\n")
    first = _cli(["submit", "bash", str(first_script), "--wait", "--json"], env)
    assert first.returncode == 0, first.stderr
    first_record = json.loads(first.stdout)
    assert first_record["status"] == "success", first_record

    probe_script = tmp_path / "probe.sh"
    probe_script.write_text(PROBE)
    second = _cli(
        [
            "submit", "bash", str(probe_script), "--wait", "--json",
            "--param", f"worker_pid={os.getpid()}", "--param", f"test_pid={os.getpid()}",
            "--param", f"other={first_record['workdir']}", "--param", f"data={data}",
            "--param", f"credentials={credentials}",
        ],
        env,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    record = json.loads(second.stdout)
    assert record["status"] == "success", record
    lines = dict(
        line.split(": ", 1) for line in record["logs"]["stdout_tail"].splitlines() if ": " in line
    )
    # A uid of the job's own (JOBPROBE_JOB_UIDS), the account's name, group and home.
    uid = record["isolation"]["uid"]
    assert uid != pwd.getpwnam(account).pw_uid and uid >= 65_536
    assert lines["uid"].startswith(f"{uid} user: {account} home: {record['workdir']}")
    assert lines["groups"] == str(pwd.getpwnam(account).pw_gid)  # none of the worker's groups
    probes = [
        "parent-environ", "worker-environ", "test-environ", "other-job-list", "other-job-file",
        "other-job-script", "spool-list", "spool-write", "store-file", "store-wal", "data-list",
        "credentials", "env-secret",
    ]  # fmt: skip
    for name in probes:
        assert lines.get(name) == "DENIED", (name, lines.get(name))
    assert "done" in record["logs"]["stdout_tail"]
    assert not (data / "spool" / "planted").exists()
    # The links it left were removed before the worker read its files as root.
    assert not (Path(record["workdir"]) / "linked-credentials.txt").exists()
    assert record["isolation"] == {
        "user": account, "uid": uid, "separate": True, "reason": None, "own_uid": True,
    }  # fmt: skip
    workdir = Path(record["workdir"])
    assert workdir.stat().st_uid == os.geteuid() and workdir.stat().st_mode & 0o077 == 0

    history = _cli(["job-history", "--json"], env)
    details = _cli(["job-details", record["task_id"], "--json"], env)
    seen = "\n".join(
        [first.stdout, first.stderr, second.stdout, second.stderr, history.stdout,
         history.stderr, details.stdout, details.stderr]
    )  # fmt: skip
    for secret in [*SECRETS.values(), DB_PASSWORD, database_url]:
        assert secret not in seen


def _meeting_place() -> Path:
    """A folder every account may write (pytest's tmp_path lies in one only root may enter),
    where the test's jobs leave each other, or the test, a word."""
    meet = Path(tempfile.mkdtemp(prefix="jobprobe-meet-"))
    meet.chmod(0o1777)
    return meet


def _embedded_env(data: Path, account: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")} | {
        "JOBPROBE_DATA_DIR": str(data), "JOBPROBE_JOB_USER": account,
        "PYTHONPATH": str(workers.ROOT),
    }  # fmt: skip


RUNNING_JOB = r"""
echo $$ > "$SIM_MEET/a.pid"; pwd > "$SIM_MEET/a.dir"
echo 'a private result' > private.txt
for _ in $(seq 300); do [ -e "$SIM_MEET/b.done" ] && break; sleep 0.1; done
echo "uid: $(id -u)"
"""
NEIGHBOUR = r"""
for _ in $(seq 300); do [ -s "$SIM_MEET/a.dir" ] && break; sleep 0.1; done
a_pid=$(cat "$SIM_MEET/a.pid"); a_dir=$(cat "$SIM_MEET/a.dir")
probe() { name=$1; shift
  if out=$("$@" 2>/dev/null) && [ -n "$out" ]; then echo "$name: READ"; else echo "$name: DENIED"; fi; }
probe running-environ cat /proc/$a_pid/environ
probe running-cwd ls /proc/$a_pid/cwd/
probe running-list ls "$a_dir"
probe running-file cat "$a_dir/private.txt"
echo "uid: $(id -u)"
touch "$SIM_MEET/b.done"
"""


def test_jobs_running_at_once_cannot_read_each_other(account: str, tmp_path: Path) -> None:
    """Two jobs of the one job account, at the same time: each has a uid of its own."""
    data = tmp_path / "data"
    meet, env = _meeting_place(), _embedded_env(data, account)  # each job leaves its pid there
    scripts = {}
    for name, text in (("running.sh", RUNNING_JOB), ("neighbour.sh", NEIGHBOUR)):
        scripts[name] = tmp_path / name
        scripts[name].write_text(text)
    args = ["--param", f"meet={meet}", "--wait", "--json"]
    first = subprocess.Popen(
        [sys.executable, str(workers.ROOT / "cli.py"), "submit", "bash",
         str(scripts["running.sh"]), *args],
        cwd=workers.ROOT, env=workers.JOB_USER | env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        second = _cli(["submit", "bash", str(scripts["neighbour.sh"]), *args], env)
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
        shutil.rmtree(meet, ignore_errors=True)
    assert first.returncode == 0 and second.returncode == 0, (err, second.stderr)
    running, neighbour = json.loads(out), json.loads(second.stdout)
    lines = dict(
        line.split(": ", 1)
        for line in neighbour["logs"]["stdout_tail"].splitlines()
        if ": " in line
    )
    for name in ("running-environ", "running-cwd", "running-list", "running-file"):
        assert lines.get(name) == "DENIED", (name, lines)
    assert running["isolation"]["own_uid"] and neighbour["isolation"]["own_uid"]
    assert running["isolation"]["uid"] != neighbour["isolation"]["uid"]
    assert f"uid: {running['isolation']['uid']}" in running["logs"]["stdout_tail"]


SWAPS_ITS_LOG = r"""
echo started
rm -f stdout.log && ln -s "$SIM_CREDENTIALS" stdout.log && echo swapped > "$SIM_MEET/swapped"
for _ in $(seq 100); do [ -e "$SIM_MEET/read" ] && break; sleep 0.1; done
"""


def test_logs_never_follow_a_link_a_running_job_made(account: str, tmp_path: Path) -> None:
    """`logs` (run by root, as the worker's admin would) reads a running job's log while the
    job has put a link to a root-only file in its place: the file is not read."""
    data = tmp_path / "data"
    credentials = tmp_path / "db-url"
    credentials.write_text(f"postgresql+psycopg://u:{DB_PASSWORD}@db/x\n")
    credentials.chmod(0o600)
    meet, env = _meeting_place(), _embedded_env(data, account)
    script = tmp_path / "swap.sh"
    script.write_text(SWAPS_ITS_LOG)
    job = subprocess.Popen(
        [sys.executable, str(workers.ROOT / "cli.py"), "submit", "bash", str(script),
         "--param", f"credentials={credentials}", "--param", f"meet={meet}", "--json"],
        cwd=workers.ROOT, env=workers.JOB_USER | env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for _ in range(300):
            if (meet / "swapped").exists() or job.poll() is not None:
                break
            time.sleep(0.1)
        assert (meet / "swapped").exists(), job.communicate(timeout=30)
        history = json.loads(_cli(["job-history", "--json"], env).stdout)
        job_id = history["jobs"][0]["task_id"]
        read = _cli(["logs", job_id], env)
        read_json = _cli(["logs", job_id, "--json"], env)
        (meet / "read").touch()
        followed = _cli(["logs", job_id, "--follow"], env)
        out, err = job.communicate(timeout=60)
    finally:
        if job.poll() is None:
            job.kill()
        shutil.rmtree(meet, ignore_errors=True)
    assert job.returncode == 0, err
    for result in (read, read_json, followed):
        assert DB_PASSWORD not in result.stdout + result.stderr, result
    assert DB_PASSWORD not in out + err
