"""The offline reader of ``jobprobe ask``: periods in words, names resolved against a
vocabulary, question forms from word classes, and asking back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobprobe.llm.chat import clarify, entities, parser, periods
from jobprobe.llm.chat.entities import Entity, Vocabulary

NOW = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)  # a Wednesday
VOCAB = Vocabulary(
    labels={"team": ["ml-team", "cv-team", "cfd"], "user": ["alice", "bob"],
            "platform": ["GNR-AP", "SRF-SP"]},
    queues=["cpu", "gpu", "iss"], tools=["python", "train", "lammps"],
)  # fmt: skip


@pytest.mark.parametrize(
    ("text", "phrase", "days", "since"),
    [
        ("over the past week", "the past 7 days", 7, NOW - timedelta(days=7)),
        ("in the last 3 days", "the past 3 days", 3, NOW - timedelta(days=3)),
        ("past two weeks", "the past 14 days", 14, NOW - timedelta(days=14)),
        ("the last 12 hours", "the past 12 hours", 0.5, NOW - timedelta(hours=12)),
        ("since yesterday", "yesterday", 1, datetime(2026, 11, 17, tzinfo=UTC)),
        ("today", "today", 15.5 / 24, datetime(2026, 11, 18, tzinfo=UTC)),
        ("this month", "this month", 17 + 15.5 / 24, datetime(2026, 11, 1, tzinfo=UTC)),
        ("and last month?", "last month", 31, datetime(2026, 10, 1, tzinfo=UTC)),
        ("last week", "the 7 days before the past 7", 7, NOW - timedelta(days=14)),
        (
            "jobs since 2026-11-08",
            "since 2026-11-08",
            10 + 15.5 / 24,
            datetime(2026, 11, 8, tzinfo=UTC),
        ),
    ],
)
def test_periods_in_words(text: str, phrase: str, days: float, since: datetime) -> None:
    found = periods.parse(text, NOW)
    assert found is not None
    assert (found.phrase, found.since) == (phrase, since)
    assert found.days == pytest.approx(days)
    assert periods.Period.from_dict(found.to_dict()) == found


def test_no_period_and_the_one_before() -> None:
    assert periods.parse("what runs on the gpu queue?", NOW) is None
    week = periods.parse("this week", NOW)
    assert week is not None
    before = periods.previous(week)
    assert (before.since, before.until) == (NOW - timedelta(days=14), NOW - timedelta(days=7))


def test_names_are_matched_as_words_ignoring_case_and_punctuation() -> None:
    found = entities.resolve("Compare ML Team and CV-team on the GPU queue", VOCAB)
    assert found.entities == [Entity("label", "ml-team", "team"), Entity("label", "cv-team", "team"),
                              Entity("queue", "gpu")]  # fmt: skip
    # "gpu" and "cpu" as everyday words are no queue filter.
    assert entities.resolve("GPU utilisation of alice", VOCAB).entities == [
        Entity("label", "alice", "user")]  # fmt: skip
    ids = entities.resolve("files of 2809f04af653 and JR-100003, not 12345", VOCAB).job_refs
    assert ids == ["2809f04af653", "JR-100003"]
    assert entities.resolve("status of job 123456 and job abcdef", VOCAB).job_refs == [
        "123456", "abcdef"]  # fmt: skip


def test_unknown_names_next_to_a_kind_and_groupings() -> None:
    found = entities.resolve("how is the team nlp doing?", VOCAB)
    assert found.unknown == [Entity("unknown", "nlp", "team")]
    assert entities.resolve("nlp team usage", VOCAB).unknown == [Entity("unknown", "nlp", "team")]
    grouped = entities.resolve("CPU hours per queue evolve by team", VOCAB)
    assert grouped.unknown == [] and grouped.by == ["queue", "label:team"]


def test_a_name_of_two_kinds_is_ambiguous() -> None:
    vocab = Vocabulary(labels={"team": ["cfd"]}, queues=["cpu"], tools=["cfd"])
    found = entities.resolve("GPU hours of cfd", vocab)
    assert [e.kind for e in found.ambiguous[0]] == ["label", "tool"]
    ask = clarify.needed(
        parser.parse("GPU hours of cfd", vocab, now=NOW), "GPU hours of cfd", vocab
    )
    assert ask is not None and ask.options == ["team cfd", "tool cfd"]


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("what's the GPU utilisation trend over the past week?", "trend"),
        ("how did cpu hours evolve day by day?", "trend"),
        ("why is ml-team's utilisation lower this week than last?", "compare_periods"),
        ("did alice run more than the week before?", "compare_periods"),
        ("top 3 wasteful jobs", "waste"),
        ("which teams leave GPUs idle?", "waste"),
        ("show me the output files of job 2809f04af6", "job_files"),
        ("what happened to JR-100003?", "job_status"),
        ("what is running now?", "running"),
        ("how many GPUs are in use right now?", "running"),
        ("compare ml-team and cv-team", "compare_groups"),
        ("cfd versus cv-team", "compare_groups"),
        ("what can I configure for ISIM jobs on GNR-AP?", "iss_config"),
        ("which parameters does an iwps job take on SRF-SP", "iss_config"),
        ("success rate per tool over the last 10 days", "stats"),
        ("how many jobs failed yesterday?", "stats"),
        ("list the failed jobs of alice", "jobs"),
        ("which workers are busy?", "workers"),
        ("tell me a joke", "unknown"),
    ],
)
def test_question_forms(question: str, kind: str) -> None:
    assert parser.parse(question, VOCAB, now=NOW).kind == kind


def test_the_parts_of_a_question() -> None:
    intent = parser.parse("top 4 wasteful jobs of cv-team this month", VOCAB, now=NOW)
    assert (intent.kind, intent.top, intent.by) == ("waste", 4, "job")
    assert intent.entities == [Entity("label", "cv-team", "team")]
    assert intent.period is not None and intent.period.phrase == "this month"
    failed = parser.parse("how many lammps jobs failed yesterday?", VOCAB, now=NOW)
    assert (failed.status, failed.entities) == ("failed", [Entity("tool", "lammps")])
    assert parser.parse("isim schema on GNR-AP", VOCAB, now=NOW).iss_type == "isim"


def test_a_follow_up_takes_the_previous_turns_form_and_names() -> None:
    first = parser.parse("GPU trend of ml-team over the past week", VOCAB, now=NOW)
    again = parser.parse("and last month?", VOCAB, now=NOW, context=first.context())
    assert (again.kind, again.entities, again.followed) == ("trend", first.entities, True)
    assert again.period is not None and again.period.phrase == "last month"
    jobs = parser.parse("which jobs?", VOCAB, now=NOW, context=first.context())
    assert (jobs.kind, jobs.entities) == ("jobs", first.entities)
    other = parser.parse("and cv-team?", VOCAB, now=NOW, context=first.context())
    assert other.kind == "trend" and other.entities == [Entity("label", "cv-team", "team")]
    fresh = parser.parse("what is running now?", VOCAB, now=NOW, context=first.context())
    assert fresh.kind == "running" and not fresh.followed


def test_asking_back_names_the_real_options() -> None:
    def ask(question: str) -> clarify.Clarification | None:
        return clarify.needed(parser.parse(question, VOCAB, now=NOW), question, VOCAB)

    platform = ask("what can I configure for ISIM jobs on this platform?")
    assert platform is not None and platform.options == ["GNR-AP", "SRF-SP"]
    kind = ask("what can I configure for ISS jobs on GNR-AP?")
    assert kind is not None and kind.options == ["isim", "iwps", "coho"]
    one = ask("compare cfd")
    assert one is not None and one.options == ["ml-team", "cv-team", "cfd"]
    mine = ask("what's my team's trend this week?")
    assert mine is not None and "ml-team, cv-team, cfd" in mine.text
    assert ask("compare ml-team and cfd") is None
