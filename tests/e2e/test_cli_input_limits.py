"""Input that could not be stored or run is refused before anything is stored; nothing a job
or a user wrote can drive the terminal."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests import workers

pytestmark = pytest.mark.e2e


def _env(data_dir: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
    return base | {"JOBPROBE_DATA_DIR": str(data_dir), "PYTHONPATH": str(workers.ROOT)}


def _nested(depth: int) -> str:
    return '{"deep": ' + "[" * depth + "1" + "]" * depth + "}"


CASES: list[tuple[str, list[str], str]] = [
    ("params-json-1000-deep", ["--params-json", _nested(1000)], "--params-json"),
    ("params-json-100-deep", ["--params-json", _nested(100)], "nested deeper than 32"),
    ("param-40kb", ["--param", "big=" + "x" * 40_000], "over the 32768-byte limit"),
    ("params-together-90kb", [a for i in range(3) for a in ("--param", f"p{i}=" + "y" * 30_000)],
     "over the 65536-byte limit"),
    ("param-nan", ["--param", "x=NaN"], "only finite numbers"),
    ("param-infinity", ["--param", "x=-Infinity"], "only finite numbers"),
    ("params-json-nan-inside", ["--params-json", '{"x": {"y": [1, NaN]}}'], "only finite numbers"),
    ("label-newline", ["--label", "user=ana\nd1e7015  success  forged-row"], "control character"),
    ("label-escape", ["--label", "team=\x1b[2J\x1b[H"], "control character"),
    ("label-bidi", ["--label", "team=abc\u202edef"], "control character"),
]  # fmt: skip


@pytest.mark.parametrize(("extra", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_stores_nothing(
    tmp_path: Path, extra: list[str], needle: str
) -> None:
    data_dir = tmp_path / "data"
    script = tmp_path / "s.sh"
    script.write_text("echo ran\n")
    out = workers.run_cli(["submit", "bash", str(script), "--wait", *extra], _env(data_dir))
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, (out.stdout, out.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines
    assert "\x1b" not in out.stderr and "Traceback" not in out.stderr
    history = workers.run_cli(["job-history", "--json"], _env(data_dir))
    assert history.returncode == 0, history.stderr
    assert json.loads(history.stdout)["jobs"] == []


def test_what_a_job_printed_cannot_drive_the_terminal(tmp_path: Path) -> None:
    env = _env(tmp_path / "data")
    script = tmp_path / "s.sh"
    script.write_text("printf 'boom\\033[2J\\033]0;owned\\007' >&2\nexit 3\n")
    out = workers.run_cli(["submit", "bash", str(script), "--wait"], env)
    assert out.returncode == 1, out.stderr
    job_id = json.loads(workers.run_cli(["job-history", "--json"], env).stdout)["jobs"][0][
        "task_id"
    ]
    assert "\x1b" not in out.stdout and "boom\\x1b[2J" in out.stdout, out.stdout
    for command in (["job-history"], ["job-details", job_id]):
        shown = workers.run_cli(command, env)
        assert shown.returncode == 0, shown.stderr
        assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "boom\\x1b[2J" in shown.stdout, shown.stdout
