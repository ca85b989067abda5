"""The chat's tool layer: argument checks against the schemas, results compacted to a token
budget with their leading figures kept, the toolbox's bounds, and the number check's marks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jobprobe.llm import verify
from jobprobe.llm.chat import compact, tools
from jobprobe.llm.chat.errors import ToolCallError, ToolLoop
from jobprobe.llm.chat.toolbox import Toolbox
from jobprobe.llm.facts import estimate_tokens
from jobprobe.store.db import Store


def by_name(name: str) -> tools.Tool:
    return tools.by_name()[name]


def test_every_tool_has_a_schema_a_model_can_use() -> None:
    available = tools.by_name()
    assert {"job_history", "job_details", "job_stats", "trend", "compare_periods", "drilldown",
            "running_now", "known_values", "compare", "sweep_report", "workers", "iss_schema",
            "iss_files", "iss_platforms"} <= set(available)  # fmt: skip
    for tool in available.values():
        spec = json.loads(json.dumps(tool.spec()))
        assert spec["parameters"]["type"] == "object" and spec["description"]
        assert spec["parameters"]["additionalProperties"] is False


@pytest.mark.parametrize(
    ("tool", "args", "problem"),
    [
        ("trend", {"bucket": "week"}, "argument 'bucket' must be one of hour, day"),
        ("trend", {"labels": {"team": 3}}, "argument 'labels.team' must be a string"),
        ("job_history", {"limit": 0}, "argument 'limit' must be at least 1"),
        ("job_history", {"limit": True}, "argument 'limit' must be a integer"),
        ("job_details", {}, "missing argument 'job_id'"),
        ("drilldown", {"path": ["queue", 2]}, "argument 'path[1]' must be a string"),
        ("job_stats", {"sql": "DROP TABLE jobs"}, "unknown argument 'sql'"),
    ],
)
def test_arguments_are_checked_against_the_schema(
    tool: str, args: dict[str, Any], problem: str
) -> None:
    assert problem in "; ".join(tools.check_arguments(by_name(tool), args))


def test_good_arguments_pass() -> None:
    args = {"by": "label:team", "labels": {"team": "ml-team"}, "since": "7d", "status": "failed"}
    assert tools.check_arguments(by_name("job_stats"), args) == []


def test_a_result_is_compacted_to_the_budget_keeping_the_leading_items() -> None:
    result = {
        "by": "tool",
        "groups": [
            {"group": f"tool-{i}", "jobs": i, "cpu_hours": i * 1.5, "series": [i * 0.1] * 30}
            for i in range(200)
        ],
        "stdout_tail": "x" * 5000,
    }
    small = compact.compact(result, 400)
    assert estimate_tokens(compact.as_text(small)) <= 400
    assert "stdout_tail" not in small and small["by"] == "tool"
    kept = small["groups"]
    assert kept[0] == result["groups"][0] and kept == result["groups"][: len(kept)]
    assert small["groups_omitted"] == 200 - len(kept)
    assert compact.compact(result, 10**6) == result  # within budget: untouched


class _Clock:
    """A tool of the test's own: counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, ctx: tools.ToolContext, args: dict[str, Any]) -> Any:
        self.calls += 1
        return {"n": self.calls, "args": args}


def _box(tmp_path: Path, max_calls: int = 3) -> tuple[Toolbox, _Clock]:
    clock = _Clock()
    tool = tools.Tool("count", "Counts.", tools._object({"x": {"type": "integer"}}), clock)
    ctx = tools.ToolContext(Store(f"sqlite:///{tmp_path / 'jp.db'}", migrate=False))
    return Toolbox(ctx, max_calls=max_calls, available={"count": tool}), clock


def test_the_toolbox_bounds_calls_and_refuses_repeats_and_unknown_tools(tmp_path: Path) -> None:
    box, clock = _box(tmp_path)
    assert box.call("count", {"x": 1}) == {"n": 1, "args": {"x": 1}}
    assert box.call("count", {"x": "a"}) == {"error": "argument 'x' must be a integer"}
    assert clock.calls == 1  # refused arguments never reach the tool
    with pytest.raises(ToolLoop, match="twice with the same arguments"):
        box.call("count", {"x": 1})
    box.call("count", {"x": 2})
    with pytest.raises(ToolLoop, match="more than 3 tool calls"):
        box.call("count", {"x": 3})
    with pytest.raises(ToolCallError, match="unknown tool 'rm'"):
        box.call("rm", {})
    internal, _ = _box(tmp_path)
    internal.call("count", {}, internal=True)
    internal.call("count", {})  # what the chat fetched first is no repeat of the model's
    facts = internal.facts(question="q")
    assert facts["question"] == "q" and [c["name"] for c in facts["calls"]] == ["count", "count"]


def test_unsupported_numbers_are_marked_where_they_stand() -> None:
    facts = {"calls": [{"result": {"gpus_in_use": 3, "share": 0.125,
                                   "at": "2026-11-25T08:00:13.52+00:00"}}]}  # fmt: skip
    text = "3 GPUs busy, 12.5% idle, 77 jobs since 2026-11-25 08:00; job `16517316` ends in 13.5 s."
    marked, check = verify.verify_and_mark(text, facts)
    assert check.unsupported == ["77", "13.5"] and not check.verified
    assert marked == ("3 GPUs busy, 12.5% idle, 77 [unverified] jobs since 2026-11-25 08:00; job "
                      "`16517316` ends in 13.5 [unverified] s.")  # fmt: skip
