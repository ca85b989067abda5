"""``jobprobe ask`` through a language model: real HTTP to OpenAI-compatible and Bedrock
Converse stand-ins on 127.0.0.1 that make scripted tool calls, over a store of realistic jobs.

The stand-ins quote figures from the tool results they were sent, as a model would; the
figures are then compared with what the read layer (the CLI's ``--json``) gives on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobprobe.llm import chat
from jobprobe.llm import errors as llm_errors
from jobprobe.llm.chat.models import BedrockChat, OpenAIChat
from jobprobe.llm.providers.bedrock import BedrockProvider
from jobprobe.llm.providers.openai import OpenAIProvider
from jobprobe.queries import usage
from jobprobe.queries.filters import JobFilters
from jobprobe.store import conversations
from jobprobe.store.db import Store
from tests.stand_ins import fleet, llm_servers
from tests.stand_ins.llm_servers import Call, Raw, StandIn, calls, say

MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, fleet.Fleet]]:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('chat') / 'jp.db'}")
    yield store, fleet.fill(store)
    store.dispose()


@pytest.fixture
def openai_srv() -> Iterator[StandIn]:
    with llm_servers.openai_server() as srv:
        yield srv


@pytest.fixture
def bedrock_srv() -> Iterator[StandIn]:
    with llm_servers.bedrock_server() as srv:
        yield srv


def openai_model(srv: StandIn, **kwargs: Any) -> OpenAIChat:
    options: dict[str, Any] = {"base_url": srv.url + "/v1", "model": "qwen2.5-7b",
                               "api_key": "sk-chat-test", "timeout_s": 2.0, "max_retries": 0}  # fmt: skip
    return OpenAIChat(OpenAIProvider(**{**options, **kwargs}))


def bedrock_model(srv: StandIn) -> BedrockChat:
    return BedrockChat(BedrockProvider(
        model_id=MODEL_ID, region="us-east-1", endpoint_url=srv.url, aws_access_key_id="AKIATEST",
        aws_secret_access_key="secret-test", read_timeout_s=2.0, max_attempts=1,
    ))  # fmt: skip


def quote_team_drop(results: list[Any], body: dict[str, Any]) -> str:
    """A model's answer quoting the compare_periods and drilldown results it was sent."""
    (row,) = results[0]["groups"]
    cur, prev = row["current"], row["previous"]
    top = results[1]["tree"]["children"][0]
    return (f"ml-team held {cur['gpu_hours']:.2f} GPU-hours in the last 7 days against "
            f"{prev['gpu_hours']:.2f} the week before ({row['change']['gpu_hours'] * 100:.1f}%). "
            f"The workload that wasted most this week was {top['name']} with "
            f"{top['wasted_gpu_hours']:.2f} wasted GPU-hours.")  # fmt: skip


WHY_STEPS = [
    calls(Call("compare_periods", {"days": 7, "by": "label:team", "labels": {"team": "ml-team"}})),
    calls(Call("drilldown", {"path": ["tool"], "labels": {"team": "ml-team"}, "since": "7d"})),
    quote_team_drop,
]


def expected_drop(store: Store) -> tuple[dict[str, Any], str]:
    """The same figures from the read layer directly (what compare-periods --json prints)."""
    (row,) = usage.compare_periods(store, days=7, by="label:team", labels={"team": "ml-team"})[
        "groups"
    ]
    tree = usage.drilldown(store, JobFilters.parse(labels={"team": "ml-team"}, since="7d"),
                           path=["tool"])["tree"]  # fmt: skip
    return row, tree["children"][0]["name"]


@pytest.mark.parametrize("provider", ["openai", "bedrock"])
def test_a_model_answers_through_tool_calls_with_the_stores_figures(
    filled: tuple[Store, fleet.Fleet], openai_srv: StandIn, bedrock_srv: StandIn, provider: str
) -> None:
    store, _ = filled
    srv = openai_srv if provider == "openai" else bedrock_srv
    srv.script = list(WHY_STEPS)
    model = openai_model(srv) if provider == "openai" else bedrock_model(srv)
    answer = chat.ask("why is ml-team's GPU use lower this week than last? which workloads?",
                      store=store, model=model)  # fmt: skip
    row, top_tool = expected_drop(store)
    assert answer.kind == "answer" and answer.verified, answer.answer
    assert f"{row['current']['gpu_hours']:.2f}" in answer.answer
    assert f"{row['previous']['gpu_hours']:.2f}" in answer.answer
    assert f"was {top_tool} with" in answer.answer
    assert row["current"]["gpu_hours"] < row["previous"]["gpu_hours"]
    assert [c["name"] for c in answer.tool_calls] == [
        "known_values",
        "compare_periods",
        "drilldown",
    ]
    assert (answer.provider, len(srv.requests)) == (provider, 3)
    first = srv.requests[0]["body"]
    if provider == "openai":
        assert srv.requests[0]["auth"] == "Bearer sk-chat-test"
        names = {t["function"]["name"] for t in first["tools"]}
        system = first["messages"][0]["content"]
    else:
        assert srv.requests[0]["path"] == f"/model/{MODEL_ID}/converse"
        names = {t["toolSpec"]["name"] for t in first["toolConfig"]["tools"]}
        system = first["system"][0]["text"]
    assert {"trend", "compare_periods", "drilldown", "job_details", "job_history", "job_stats",
            "running_now", "known_values", "compare", "sweep_report", "workers"} <= names  # fmt: skip
    assert "ml-team" in system and "cv-team" in system  # the real names, for asking back


def test_an_invented_number_is_caught_and_marked(
    filled: tuple[Store, fleet.Fleet], openai_srv: StandIn
) -> None:
    store, _ = filled
    openai_srv.script = [
        calls(Call("running_now")),
        lambda results, body: (f"{results[0]['running_jobs']} jobs run now on "
                               f"{results[0]['gpus_in_use']} GPUs; about 987.6 GPU-hours today."),
    ]  # fmt: skip
    answer = chat.ask("how many GPUs are in use right now?", store=store,
                      model=openai_model(openai_srv))  # fmt: skip
    assert not answer.verified
    assert answer.unverified_numbers == ["987.6"]
    assert "987.6 [unverified] GPU-hours" in answer.answer
    assert answer.answer.startswith("2 jobs run now on 3 GPUs")  # these two are checked facts


def _turns(store: Store, session_id: str) -> list[Any]:
    from datetime import timedelta

    with store.session() as s:
        return list(conversations.load(s, session_id, max_age=timedelta(hours=1)).turns)


@pytest.mark.parametrize(
    ("script", "error", "message"),
    [
        ([calls(Call("job_history", raw_arguments="{not json"))], chat.errors.ToolCallError,
         "not JSON"),
        ([calls(Call("drop_tables", {}))], chat.errors.ToolCallError, "unknown tool 'drop_tables'"),
        ([calls(Call("job_stats", {"by": "tool"}))], chat.errors.ToolLoop, "twice with the same"),
        ([lambda results, body: [Call("job_history", {"limit": len(results) + 1})]],
         chat.errors.ToolLoop, "more than 3 tool calls"),
        ([say("")], llm_errors.LlmResponseError, "empty answer"),
        ([lambda r, b: Raw(200, b"<html>proxy error</html>")], llm_errors.LlmResponseError,
         "unusable chat completion"),
        ([lambda r, b: Raw(503, b'{"error": "overloaded"}')], llm_errors.LlmUnavailable,
         "answered 503"),
    ],
)  # fmt: skip
def test_a_misbehaving_model_is_one_error_and_the_session_is_untouched(
    filled: tuple[Store, fleet.Fleet], openai_srv: StandIn, script: list[Any],
    error: type[Exception], message: str,
) -> None:  # fmt: skip
    store, _ = filled
    first = chat.ask("what is running now?", store=store)
    openai_srv.script = script
    with pytest.raises(error, match=message) as caught:
        chat.ask("what ran on the gpu queue today?", store=store, model=openai_model(openai_srv),
                 session_id=first.session_id, config=chat.ChatConfig(max_tool_calls=3))  # fmt: skip
    assert "\n" not in str(caught.value)
    assert len(_turns(store, first.session_id)) == 1


def test_a_provider_that_is_down_or_slow_is_unavailable(
    filled: tuple[Store, fleet.Fleet], openai_srv: StandIn, tmp_path: Path
) -> None:
    store, _ = filled
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    down = OpenAIChat(OpenAIProvider(base_url=f"http://127.0.0.1:{closed_port}/v1", model="m",
                                     timeout_s=1.0, max_retries=0))  # fmt: skip
    with pytest.raises(llm_errors.LlmUnavailable, match="cannot reach"):
        chat.ask("what is running now?", store=store, model=down)
    openai_srv.delay_s = 3.0
    openai_srv.script = [say("late")]
    with pytest.raises(llm_errors.LlmUnavailable, match="did not answer within"):
        chat.ask("what is running now?", store=store,
                 model=openai_model(openai_srv, timeout_s=0.5))  # fmt: skip


def test_bad_arguments_go_back_to_the_model_which_can_correct_them(
    filled: tuple[Store, fleet.Fleet], bedrock_srv: StandIn
) -> None:
    store, _ = filled
    bedrock_srv.script = [
        calls(Call("trend", {"bucket": "week", "by": "queue"})),
        calls(Call("trend", {"bucket": "day", "by": "queue", "metric": "gpu_hours", "since": "7d"})),
        lambda results, body: "error seen: " + str(results[0]["error"]).split(";")[0] + ". GPU queue: "
        + str(next(g["gpu_hours"] for g in results[1]["groups"] if g["group"] == "gpu")) + " GPU-hours.",
    ]  # fmt: skip
    answer = chat.ask(
        "GPU hours per queue this week", store=store, model=bedrock_model(bedrock_srv)
    )
    expected = usage.trend(store, JobFilters.parse(since="7d"), by="queue", metric="gpu_hours")
    gpu = next(g for g in expected["groups"] if g["group"] == "gpu")
    assert "argument 'bucket' must be one of hour, day" in answer.answer
    assert f"{gpu['gpu_hours']} GPU-hours" in answer.answer and answer.verified


def test_a_name_the_store_does_not_know_is_asked_back_without_the_model(
    filled: tuple[Store, fleet.Fleet], openai_srv: StandIn
) -> None:
    store, _ = filled
    openai_srv.script = [say("should not be asked")]
    answer = chat.ask("compare team nlp with cfd", store=store, model=openai_model(openai_srv))
    assert answer.kind == "clarify" and openai_srv.requests == []
    assert sorted(answer.options) == ["cfd", "cv-team", "ml-team"]
    assert ", ".join(answer.options) in answer.answer


def test_a_follow_up_gives_the_model_the_conversation_so_far(
    filled: tuple[Store, fleet.Fleet], openai_srv: StandIn
) -> None:
    store, _ = filled
    openai_srv.script = [
        calls(Call("running_now", {"labels": {"team": "ml-team"}})),
        lambda results, body: f"ml-team runs {results[0]['running_jobs']} jobs now.",
    ]
    model = openai_model(openai_srv)
    first = chat.ask("what is ml-team running now?", store=store, model=model)
    assert first.answer == "ml-team runs 1 jobs now." and first.verified
    openai_srv.requests.clear()
    openai_srv.script = [say("The same as before: see above.")]
    again = chat.ask("and what about cv-team?", store=store, model=model,
                     session_id=first.session_id)  # fmt: skip
    messages = openai_srv.requests[0]["body"]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1]["content"] == "what is ml-team running now?"
    assert messages[2]["content"] == "ml-team runs 1 jobs now."
    assert '"entities":[{"kind":"label","value":"ml-team","key":"team"}]' in messages[0]["content"]
    assert again.session_id == first.session_id
