"""``jobprobe ask`` as a user runs it: answers whose figures match the CLI's own --json
commands, the session line and --session follow-ups, unverified numbers named (through an
OpenAI-compatible stand-in), and bad input as one line with exit 2."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from jobprobe.llm.narrative import num, pct
from jobprobe.store.db import Store
from tests import workers
from tests.stand_ins import fleet, llm_servers
from tests.stand_ins.llm_servers import Call, calls

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("ask")
    url = f"sqlite:///{root / 'jp.db'}"
    store = Store(url)
    fleet.fill(store)
    store.dispose()
    base = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
    yield base | {"JOBPROBE_DATA_DIR": str(root / "data"), "JOBPROBE_DATABASE_URL": url,
                  "PYTHONPATH": str(workers.ROOT)}  # fmt: skip


def cli_json(env: dict[str, str], *args: str) -> Any:
    out = workers.run_cli([*args, "--json"], env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_answers_match_the_clis_own_figures(env: dict[str, str]) -> None:
    answer = cli_json(env, "ask", "why is ml-team's usage lower this week than last?")
    periods = cli_json(env, "compare-periods", "--days", "7", "--by", "label:team",
                       "--label", "team=ml-team")  # fmt: skip
    (row,) = periods["groups"]
    assert answer["verified"] and answer["kind"] == "answer"
    assert (f"{num(row['current']['gpu_hours'])} GPU-hours held against "
            f"{num(row['previous']['gpu_hours'])} before (down "
            f"{pct(abs(row['change']['gpu_hours']))})") in answer["answer"]  # fmt: skip

    waste = cli_json(env, "ask", "which queues wasted the most GPU time?")
    tree = cli_json(env, "drilldown", "--path", "queue", "--top", "5")["tree"]
    first = tree["children"][0]
    assert f"- queue {first['name']}: {num(first['wasted_gpu_hours'])} wasted" in waste["answer"]

    stats = cli_json(env, "ask", "success rate per team")
    for group in cli_json(env, "job-stats", "--by", "label:team")["groups"]:
        assert (
            f"- {group['group']}: {group['jobs']} jobs, {group['failed']} failed" in stats["answer"]
        )


def test_the_session_line_and_a_follow_up(env: dict[str, str]) -> None:
    out = workers.run_cli(["ask", "GPU hours trend of cv-team over the past week"], env)
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("session: ") and "cv-team" in out.stdout
    session = last.split()[1]
    again = cli_json(env, "ask", "and the past 3 days?", "--session", session)
    assert again["session_id"] == session
    (call,) = [c for c in again["tool_calls"] if c["name"] == "trend"]
    assert call["arguments"]["labels"] == {"team": "cv-team"}
    assert "in the past 3 days" in again["answer"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["ask", "   "], "the question is empty"),
        (["ask", "why " * 600], "characters long; ask one of at most 2,000"),
        (["ask", "what runs now?", "--session", "0" * 32], "unknown or expired"),
        (["ask", "what runs now?", "--session", "x" * 200, "--json"], "no conversation"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    env: dict[str, str], args: list[str], needle: str
) -> None:
    out = workers.run_cli(args, env, timeout=120)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines
    assert out.stdout == ""


def test_an_unverified_number_is_named(env: dict[str, str]) -> None:
    with llm_servers.openai_server() as srv:
        srv.script = [
            calls(Call("running_now")),
            lambda results, body: (f"{results[0]['running_jobs']} jobs run now; they will end "
                                   "in 42.5 minutes."),
        ]  # fmt: skip
        llm = {"JOBPROBE_LLM_PROVIDER": "openai", "JOBPROBE_LLM_BASE_URL": srv.url + "/v1",
               "JOBPROBE_LLM_MODEL": "qwen2.5-7b", "JOBPROBE_LLM_TIMEOUT": "5"}  # fmt: skip
        out = workers.run_cli(["ask", "what is running now?"], env | llm, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "2 jobs run now; they will end in 42.5 [unverified] minutes."
    assert lines[1].startswith("unverified: 42.5 (not in the figures the tools returned")
    assert lines[2].startswith("session: ")
    down = workers.run_cli(["ask", "what is running now?"], env | llm, timeout=120)
    assert down.returncode == 1 and down.stderr.count("\n") == 1
    assert down.stderr.startswith("error: cannot reach http://127.0.0.1:")
