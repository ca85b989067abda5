"""Bad input and unreachable services: one ``error:`` line, a non-zero exit, nothing stored.

Each case runs ``cli.py`` in a subprocess as a user would. The store is SQLite under a
temporary JOBPROBE_DATA_DIR, read back afterwards with ``job-history --json`` in embedded mode.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests import workers

pytestmark = pytest.mark.e2e

UNREACHABLE_BROKER = "redis://127.0.0.1:1"
UNREACHABLE_DB = "postgresql+psycopg://postgres@127.0.0.1:1/x"


def embedded_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """A CLI environment in embedded mode (no broker, SQLite under ``data_dir``)."""
    env = workers.jobprobe_env("", "", data_dir)
    del env["JOBPROBE_BROKER_URL"], env["JOBPROBE_DATABASE_URL"]
    env.update(extra)
    return env


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "ok.py").write_text("print('hello')\n")
    (folder / "big.py").write_text("# " + "x" * 300 + "\n")
    return folder


def assert_one_error_line(out: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Non-zero exit, exactly one stderr line starting 'error:' that names the problem."""
    lines = out.stderr.strip().splitlines()
    assert out.returncode != 0, (out.stdout, out.stderr)
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: "), out.stderr
    assert "Traceback" not in out.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def stored_jobs(data_dir: Path) -> list[dict[str, object]]:
    out = workers.run_cli(["job-history", "--json"], embedded_env(data_dir))
    assert out.returncode == 0, out.stderr
    jobs: list[dict[str, object]] = json.loads(out.stdout)["jobs"]
    return jobs


SUBMIT_CASES: list[tuple[str, list[str], dict[str, str], tuple[str, ...]]] = [
    ("unknown-tool", ["submit", "nosuchtool", "{ok}"], {}, ("nosuchtool", "registered tools")),
    ("missing-script", ["submit", "python", "{missing}"], {}, ("not found",)),
    (
        "oversized-script",
        ["submit", "python", "{big}"],
        {"JOBPROBE_MAX_SCRIPT_BYTES": "100"},
        ("100-byte limit", "JOBPROBE_MAX_SCRIPT_BYTES"),
    ),
    ("malformed-param", ["submit", "python", "{ok}", "--param", "nokey"], {}, ("--param", "nokey")),
    (
        "params-json-not-object",
        ["submit", "python", "{ok}", "--params-json", "[1, 2]"],
        {},
        ("--params-json", "object"),
    ),
    (
        "params-json-invalid",
        ["submit", "python", "{ok}", "--params-json", "{x"],
        {},
        ("--params-json", "not valid JSON"),
    ),
    ("negative-timeout", ["submit", "python", "{ok}", "--timeout", "-5"], {}, ("--timeout", "-5")),
    (
        "unreachable-broker",
        ["submit", "python", "{ok}"],
        # The same store as the check below reads (a broker without one is refused first).
        {
            "JOBPROBE_BROKER_URL": UNREACHABLE_BROKER,
            "JOBPROBE_DATABASE_URL": "sqlite:///{data}/jobprobe.db",
        },
        ("cannot reach the broker", "JOBPROBE_BROKER_URL"),
    ),
    (
        "unreachable-database",
        ["submit", "python", "{ok}"],
        {"JOBPROBE_DATABASE_URL": UNREACHABLE_DB},
        ("cannot reach the database", "JOBPROBE_DATABASE_URL"),
    ),
    ("device-script", ["submit", "python", "/dev/zero"], {}, ("not a regular file",)),
    ("folder-script", ["submit", "python", "{folder}"], {}, ("is a directory",)),
    (
        "empty-queue",
        ["submit", "python", "{ok}", "--queue", ""],
        {},
        ("--queue must name a queue",),
    ),
    (
        "vary-given-twice",
        ["sweep", "python", "{ok}", "--vary", "n=1,2", "--vary", "iterations=3,4"],
        {},
        ("--vary given 2 times (n, iterations)", "one parameter"),
    ),
    (
        "bad-setting",
        ["submit", "python", "{ok}"],
        {"JOBPROBE_SAMPLE_INTERVAL": "0"},
        ("JOBPROBE_SAMPLE_INTERVAL",),
    ),
]


@pytest.mark.parametrize(
    ("args", "extra_env", "needles"),
    [case[1:] for case in SUBMIT_CASES],
    ids=[case[0] for case in SUBMIT_CASES],
)
def test_failed_submit_is_one_line_and_stores_nothing(
    tmp_path: Path,
    scripts: Path,
    args: list[str],
    extra_env: dict[str, str],
    needles: tuple[str, ...],
) -> None:
    data_dir = tmp_path / "data"
    paths = {
        "{ok}": str(scripts / "ok.py"),
        "{big}": str(scripts / "big.py"),
        "{missing}": str(scripts / "missing.py"),
        "{folder}": str(scripts),
    }
    argv = [paths.get(a, a) for a in args]
    extra = {k: v.replace("{data}", str(data_dir)) for k, v in extra_env.items()}
    out = workers.run_cli(argv, embedded_env(data_dir, **extra), timeout=60)
    assert_one_error_line(out, *needles)
    assert stored_jobs(data_dir) == []


@pytest.mark.parametrize("command", ["job-details", "cancel", "logs"])
def test_unknown_job_id_is_one_line(tmp_path: Path, command: str) -> None:
    out = workers.run_cli(
        [command, "0123456789abcdef"], embedded_env(tmp_path / "data"), timeout=60
    )
    assert_one_error_line(out, "no job '0123456789abcdef'")


@pytest.mark.parametrize("command", [["job-history"], ["job-stats"], ["job-details", "abcdef12"]])
def test_unreachable_database_on_reads_is_one_line(tmp_path: Path, command: list[str]) -> None:
    env = embedded_env(tmp_path / "data", JOBPROBE_DATABASE_URL=UNREACHABLE_DB)
    out = workers.run_cli(command, env, timeout=60)
    assert_one_error_line(out, "cannot reach the database")


def test_embedded_submit_still_works_after_the_errors(tmp_path: Path, scripts: Path) -> None:
    """The control case: the same environment and script succeed, so the errors were the inputs."""
    data_dir = tmp_path / "data"
    env = embedded_env(data_dir)
    out = workers.run_cli(["submit", "python", str(scripts / "ok.py"), "--wait", "--json"], env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "success"
    assert [j["status"] for j in stored_jobs(data_dir)] == ["success"]
