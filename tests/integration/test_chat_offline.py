"""``jobprobe ask`` offline (the ``none`` provider) on SQLite and PostgreSQL: every question
form answered from the read layer's own figures, asking back with the store's real names,
follow-ups that reuse the conversation's context, and paraphrases it was not written for."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from jobprobe.llm import chat
from jobprobe.llm.narrative import num, pct
from jobprobe.queries import jobs, usage
from jobprobe.queries.filters import JobFilters
from jobprobe.store import conversations
from jobprobe.store.db import Store
from tests import services
from tests.stand_ins import fleet


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def filled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, fleet.Fleet]]:
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path_factory.mktemp('ask') / 'jp.db'}")
        yield store, fleet.fill(store)
        store.dispose()
        return
    url, name = services.create_pg_database()
    store = Store(url)
    try:
        yield store, fleet.fill(store)
    finally:
        store.dispose()
        services.drop_pg_database(name)


def ask(store: Store, question: str, session_id: str | None = None) -> chat.Answer:
    answer = chat.ask(question, store=store, session_id=session_id)
    assert answer.verified, (question, answer.unverified_numbers, answer.answer)
    return answer


def n_jobs(count: int) -> str:
    return f"{count} job" + ("" if count == 1 else "s")


def names(answer: chat.Answer) -> list[str]:
    return [c["name"] for c in answer.tool_calls if c["name"] != "known_values"]


def test_gpu_trend_over_the_past_week(filled: tuple[Store, fleet.Fleet]) -> None:
    store, _ = filled
    answer = ask(store, "what's the GPU utilisation trend over the past week?")
    want = usage.trend(store, JobFilters.parse(since="7d"), by="queue", metric="gpu_util_percent")
    gpu = next(g for g in want["groups"] if g["group"] == "gpu")
    assert names(answer) == ["trend"]
    assert gpu["gpu_util_percent"] is not None
    assert (
        f"- gpu: {num(gpu['gpu_util_percent'])} % GPU utilisation over {n_jobs(gpu['jobs'])},"
        in answer.answer
    )
    assert f"{num(gpu['gpu_hours'])} GPU-hours held" in answer.answer
    assert f"{num(gpu['wasted_gpu_hours'])} of them wasted" in answer.answer
    assert f"trend {gpu['trend']['direction']}" in answer.answer
    assert "- cpu:" not in answer.answer  # no GPU-hours there


def test_why_lower_this_week_than_last_and_which_workloads(
    filled: tuple[Store, fleet.Fleet],
) -> None:
    store, _ = filled
    answer = ask(
        store, "Why is ml-team's utilisation lower this week than last? Which workloads caused it?"
    )
    (team,) = usage.compare_periods(store, days=7, by="label:team", labels={"team": "ml-team"})[
        "groups"
    ]
    by_tool = usage.compare_periods(store, days=7, by="tool", labels={"team": "ml-team"})["groups"]
    assert names(answer) == ["compare_periods", "compare_periods"]
    # Utilisation of the GPUs, this week against last, in points; then GPU-hours held.
    util_now, util_before = (
        team["current"]["gpu_util_percent"],
        team["previous"]["gpu_util_percent"],
    )
    assert util_now < util_before
    assert (f"{num(util_now)} % GPU utilisation against {num(util_before)} before "
            f"(down {num(abs(team['change']['gpu_util_points']))} points)") in answer.answer  # fmt: skip
    gpu_now, gpu_before = team["current"]["gpu_hours"], team["previous"]["gpu_hours"]
    assert (f"{num(gpu_now)} GPU-hours held against {num(gpu_before)} before "
            f"(down {pct(abs(team['change']['gpu_hours']))})") in answer.answer  # fmt: skip
    # The workload whose utilisation moved most comes first.
    workloads = answer.answer.split("By workload (tool), largest change first:")[1]
    moved = max(
        (r for r in by_tool if r["change"]["gpu_util_points"] is not None),
        key=lambda r: abs(r["change"]["gpu_util_points"]),
    )
    assert workloads.strip().startswith(
        f"- {moved['group']}: {num(moved['current']['gpu_util_percent'])} % GPU utilisation"
    )


def test_top_wasteful_jobs_and_teams(filled: tuple[Store, fleet.Fleet]) -> None:
    store, _ = filled
    answer = ask(store, "top 3 wasteful jobs")
    tree = usage.drilldown(store, path=[], top=3)["tree"]
    assert names(answer) == ["drilldown"]
    for child in tree["children"]:
        assert f"job `{child['name']}`: {num(child['wasted_gpu_hours'])} wasted" in answer.answer
    assert "1 job held GPUs without GPU samples" in answer.answer  # unknown, never 0
    teams = ask(store, "which teams waste the most GPU hours?")
    ranked = usage.drilldown(store, path=["label:team"], top=5)["tree"]["children"]
    lines = [line for line in teams.answer.splitlines() if line.startswith("- label:team")]
    assert [line.split(":")[1].split()[1] for line in lines] == [c["name"] for c in ranked]
    assert lines[0].startswith("- label:team ml-team")


def test_status_and_output_files_of_a_job(filled: tuple[Store, fleet.Fleet]) -> None:
    store, made = filled
    local = made.ids["with_files"][0]
    files = ask(store, f"show me the output files of job {local[:8]}")
    assert names(files) == ["job_details"]
    assert "- log.lammps (48,213 bytes)" in files.answer and "- dump.atom" in files.answer
    iss_id = made.ids["iss_with_files"][0]
    iss = ask(store, f"which files did {iss_id} produce?")
    assert "- sim.log (2,048 bytes)" in iss.answer and "- stats.json" in iss.answer
    status = ask(store, f"what's the status of job {local[:10]}?")
    record = jobs.job_details(store, local)
    assert f"Job `{local}` (lammps, queue cpu) is success" in status.answer
    assert f"ran {num(record['duration_seconds'])} s" in status.answer
    missing = ask(store, "status of job 0123456789abcdef")
    assert "No answer for job 0123456789abcdef: no job" in missing.answer


def test_what_runs_now_and_gpus_in_use(filled: tuple[Store, fleet.Fleet]) -> None:
    store, _ = filled
    running = jobs.job_history(store, JobFilters(status="running"), limit=50)["jobs"]
    for question in ("what is running now?", "how many GPUs are in use right now?"):
        answer = ask(store, question)
        assert names(answer)[0] == "running_now"
        gpus = sum(r["gpus"] for r in running)
        assert (
            f"Right now {n_jobs(len(running))} {'is' if len(running) == 1 else 'are'} running, holding {gpus} GPUs."
            in answer.answer
        )
    assert "- queue cpu: 1 waiting." in answer.answer


def test_compare_two_teams(filled: tuple[Store, fleet.Fleet]) -> None:
    store, _ = filled
    answer = ask(store, "compare ml-team and cv-team")
    assert names(answer) == ["job_stats", "trend", "job_stats", "trend"]
    for team in ("ml-team", "cv-team"):
        (group,) = jobs.job_stats(store, JobFilters.parse(labels={"team": team}),
                                  by="label:team")["groups"]  # fmt: skip
        assert f"- {team}: {n_jobs(group['jobs'])}, {group['failed']} failed" in answer.answer


def test_counts_listings_and_workers(filled: tuple[Store, fleet.Fleet]) -> None:
    store, _ = filled
    failed = ask(store, "how many jobs failed in the past 3 days, per team?")
    want = jobs.job_stats(store, JobFilters.parse(status="failed", since="3d"), by="label:team")
    assert names(failed) == ["job_stats"]
    for group in want["groups"]:
        assert (
            f"- {group['group']}: {n_jobs(group['jobs'])}, {group['failed']} failed"
            in failed.answer
        )
    listing = ask(store, "list the failed jobs of cv-team")
    listed = jobs.job_history(store, JobFilters.parse(status="failed", labels={"team": "cv-team"}),
                              limit=10)["jobs"]  # fmt: skip
    assert names(listing) == ["job_history"]
    assert all(r["task_id"][:8] in listing.answer for r in listed) and listed
    workers = ask(store, "which workers were busy lately?")
    assert names(workers) == ["workers"]


def test_asking_back_lists_the_real_options(filled: tuple[Store, fleet.Fleet]) -> None:
    store, _ = filled
    platforms = ask(store, "what can I configure for ISIM jobs on this platform?")
    assert platforms.kind == "clarify"
    assert platforms.options == ["GNR-AP", "LNL-M", "SRF-SP"]
    one = ask(store, "compare ml-team")
    assert one.kind == "clarify" and "cv-team" in one.options
    team = ask(store, "how is the team nlp doing this week?")
    assert team.kind == "clarify" and sorted(team.options) == ["cfd", "cv-team", "ml-team"]
    which = ask(store, "what's my team's GPU trend?")
    assert which.kind == "clarify" and "ml-team" in which.answer


def test_a_follow_up_uses_the_conversations_context(filled: tuple[Store, fleet.Fleet]) -> None:
    store, _ = filled
    first = ask(store, "GPU hours trend of ml-team over the past week")
    assert names(first) == ["trend"]
    again = ask(store, "and last month?", first.session_id)
    assert again.session_id == first.session_id and names(again) == ["trend"]
    (call,) = [c for c in again.tool_calls if c["name"] == "trend"]
    assert call["arguments"]["labels"] == {"team": "ml-team"}
    assert call["arguments"]["since"] != first.tool_calls[1]["arguments"]["since"]
    jobs_turn = ask(store, "which jobs?", first.session_id)
    assert names(jobs_turn) == ["job_history"]
    assert jobs_turn.tool_calls[1]["arguments"]["labels"] == {"team": "ml-team"}
    with store.session() as s:
        conv = conversations.load(s, first.session_id, max_age=timedelta(hours=1))
        assert [t["question"] for t in conv.turns] == [
            "GPU hours trend of ml-team over the past week",
            "and last month?",
            "which jobs?",
        ]
        assert conv.context["entities"] == [{"kind": "label", "value": "ml-team", "key": "team"}]


def test_a_sweeps_report(filled: tuple[Store, fleet.Fleet]) -> None:
    from jobprobe.queries import sweeps

    store, made = filled
    sweep_id = made.ids["sweep"][0]
    answer = ask(store, f"what did sweep {sweep_id[:8]} find?")
    facts = sweeps.sweep_report(store, sweep_id)
    assert names(answer) == ["sweep_report"]
    assert f"Sweep `{sweep_id}` (python serve_load.py, varying clients): 6 of 6 jobs ended" in (
        answer.answer)  # fmt: skip
    assert f"throughput saturates at clients={facts['throughput_knee']['x']:g}" in answer.answer


def test_who_used_the_most(filled: tuple[Store, fleet.Fleet]) -> None:
    store, _ = filled
    answer = ask(store, "Which team used the most GPU hours in the past 2 weeks?")
    want = usage.trend(store, JobFilters.parse(since="14d"), by="label:team", metric="gpu_hours")
    ranked = sorted(want["groups"], key=lambda g: g["gpu_hours"], reverse=True)
    lines = answer.answer.splitlines()[1:]
    assert lines == [f"- {g['group']}: {num(g['gpu_hours'])} GPU-hours held ({n_jobs(g['jobs'])})."
                     for g in ranked[:5]]  # fmt: skip
    least = ask(store, "which user used the least CPU time this week?")
    assert "least first" in least.answer.splitlines()[0]


def test_a_question_it_cannot_read_says_what_it_can_answer(
    filled: tuple[Store, fleet.Fleet],
) -> None:
    store, _ = filled
    answer = ask(store, "tell me a joke about kubernetes")
    assert answer.kind == "unparsed" and "I could not read that question" in answer.answer
    assert "what is running now" in answer.answer


@pytest.mark.parametrize(
    ("question", "tools", "args"),
    [
        ("How did CPU usage per queue evolve during the last 3 days?", ["trend"],
         {"by": "queue", "metric": "cpu_hours"}),
        ("Show me cv-team's GPU-hours day by day for the past two weeks", ["trend"],
         {"labels": {"team": "cv-team"}, "metric": "gpu_hours"}),
        ("Did cv-team use more GPU time compared to the previous week?", ["compare_periods"] * 2,
         {"labels": {"team": "cv-team"}}),
        ("Which users left their GPUs idle the most?", ["drilldown"], {"path": ["label:user"]}),
        ("list the 5 worst jobs for idle GPUs this month", ["drilldown"], {"top": 5, "path": []}),
        ("is anything running at the moment?", ["running_now", "queues"], {}),
        ("cfd vs cv-team", ["job_stats", "trend", "job_stats", "trend"], {}),
        ("success rate per tool over the last 10 days", ["job_stats"], {"by": "tool"}),
        ("how many lammps jobs failed yesterday?", ["job_stats"], {"tool": "lammps",
                                                                   "status": "failed"}),
        ("jobs on the gpu queue today", ["job_history"], {"queue": "gpu"}),
        ("Is the gpu queue busy?", ["running_now", "queues"], {"queue": "gpu"}),
        ("How many GPUs is ml-team using at the moment?", ["running_now", "queues"],
         {"labels": {"team": "ml-team"}}),
        ("Compare the gpu and cpu queues", ["job_stats", "trend", "job_stats", "trend"],
         {"queue": "gpu"}),
        ("give me a breakdown of wasted GPU hours by queue and team", ["drilldown"],
         {"path": ["queue", "label:team"]}),
        ("how is cfd doing?", ["job_stats"], {"labels": {"team": "cfd"}}),
        ("any failures today?", ["job_stats"], {"status": "failed"}),
        ("How many GPU hours did we burn yesterday?", ["trend"], {"metric": "gpu_hours"}),
        ("which workers were busy in the past 3 days?", ["workers"], {"hours": 72.0}),
    ],
)  # fmt: skip
def test_paraphrases(
    filled: tuple[Store, fleet.Fleet], question: str, tools: list[str], args: dict[str, Any],
    tmp_path: Path,
) -> None:  # fmt: skip
    store, _ = filled
    answer = ask(store, question)
    assert names(answer) == tools, answer.answer
    first = next(c for c in answer.tool_calls if c["name"] == tools[0])
    assert {k: first["arguments"].get(k) for k in args} == args


def test_what_an_iss_job_type_takes_on_a_platform(filled: tuple[Store, fleet.Fleet]) -> None:
    from jobprobe.iss_client import IssClient
    from jobprobe.iss_client.devserver import DevServer
    from jobprobe.worker.settings import Settings

    store, made = filled
    dev = DevServer(port=0, speed=100.0, client_secret="chat-dev-secret").start()
    try:
        settings = Settings(iss_api_url=dev.url, iss_token_url=dev.token_url,
                            iss_client_id=dev.client_id, iss_client_secret="chat-dev-secret")  # fmt: skip
        answer = chat.ask("What can I configure for ISIM jobs on GNR-AP?", store=store,
                          settings=settings)  # fmt: skip
        with IssClient(dev.url, dev.url, dev.token_url, dev.client_id, "chat-dev-secret") as c:
            schema = c.get_schema("isim", "GNR-AP")
        files = chat.ask(f"output files of {made.ids['iss_external'][3]}", store=store,
                         settings=settings)  # fmt: skip
    finally:
        dev.stop()
    assert answer.verified and names(answer) == ["iss_schema"], answer.answer
    threads = schema["properties"]["Threads"]
    assert f"- Threads*: integer, from 1 to {threads['maximum']}" in answer.answer
    assert "- WarmupInstructions: integer, default 50,000,000" in answer.answer
    assert all(f in answer.answer for f in schema["properties"]["Features"]["items"]["enum"])
    unconfigured = ask(store, "What can I configure for ISIM jobs on GNR-AP?")
    assert "could not be read: ISS is not configured" in unconfigured.answer
    assert files.verified and names(files)[0] == "job_details"


def test_an_expired_session_is_unknown(filled: tuple[Store, fleet.Fleet]) -> None:
    from datetime import UTC, datetime

    store, _ = filled
    first = ask(store, "what is running now?")
    later = datetime.now(UTC) + timedelta(hours=3)
    config = chat.ChatConfig(session_hours=2.0)
    with pytest.raises(chat.errors.UnknownSession, match="expired"):
        chat.ask("and now?", store=store, session_id=first.session_id, config=config, now=later)
    kept = chat.ask("and now?", store=store, session_id=first.session_id,
                    config=chat.ChatConfig(session_hours=4.0), now=later)  # fmt: skip
    assert kept.session_id == first.session_id
