"""Fact prompts respect the budget; the offline provider is deterministic and verified."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jobprobe import llm
from jobprobe.analysis import regression, report, saturation
from jobprobe.llm import errors, facts
from tests.unit.analysis import recorded

_profile = recorded.load_profile


def _sweep_facts() -> dict[str, Any]:
    record = _profile("cpu_bound")
    points = [
        {
            "value": v,
            "repeat": r,
            "throughput": 100.0 * min(v, 8) * (1 + 0.01 * r),
            "p50_ms": 2.0 + 0.1 * v,
            "p99_ms": 5.0 + 6.0 * max(0, v - 8),
            "record": record,
        }
        for v in (1, 2, 4, 6, 8, 10, 12, 16)
        for r in range(3)
    ]
    return report.sweep_facts(saturation.sweep_report(points, slo_p99=20.0))


def _comparison_facts() -> dict[str, Any]:
    base, slow = _profile("balanced"), _profile("balanced")
    slow["duration_seconds"] *= 1.3
    slow["metrics"]["throughput"] /= 1.3
    slow["status"] = "failed"
    return report.comparison_facts(regression.compare([base], [slow]))


ALL_FACTS = [
    *[
        pytest.param(report.job_report(_profile(name)), id=name)
        for name in recorded.profile_names()
    ],
    pytest.param(_sweep_facts(), id="sweep"),
    pytest.param(_comparison_facts(), id="comparison"),
]


@pytest.mark.parametrize("fact_set", ALL_FACTS)
def test_none_provider_is_deterministic_and_verified(fact_set: dict[str, Any]) -> None:
    provider = llm.make_provider("none")
    first = llm.write_insight(fact_set, provider)
    second = llm.write_insight(fact_set, llm.make_provider("none"))
    assert first.text == second.text
    assert first.verified, first.unsupported_numbers
    assert first.provider == "none" and first.model
    assert len(first.text.split(". ")) >= 3


def test_none_report_explains_verdict_figures_and_advice() -> None:
    text = llm.write_insight(
        report.job_report(_profile("cpu_bound")), llm.make_provider("none")
    ).text
    assert "limited by CPU" in text
    assert "Evidence:" in text and "What to do:" in text
    assert "CPU-seconds" in text


def test_comparison_narrative_names_regressions() -> None:
    text = llm.write_insight(_comparison_facts(), llm.make_provider("none")).text
    assert "a regression was found" in text
    assert "success_rate_percent regressed" in text
    assert "duration_seconds got worse, unconfirmed" in text


@pytest.mark.parametrize("budget", [60, 180, 250, 400])
def test_compaction_respects_the_budget(budget: int) -> None:
    fact_set = _sweep_facts()
    assert facts.estimate_tokens(json.dumps(fact_set)) > 400
    prompt = facts.build_prompt(fact_set, budget_tokens=budget)
    smallest = facts.build_prompt({"subject": "sweep"}).tokens_est
    assert prompt.tokens_est <= max(budget, smallest)
    if budget > smallest + 40:
        assert len(prompt.facts) > 1
    assert prompt.facts["subject"] == "sweep"
    assert facts.facts_from_prompt(prompt.text) == prompt.facts


def test_compaction_drops_least_important_first() -> None:
    fact_set = report.job_report(_profile("missing_gpu"))
    full = facts.estimate_tokens(json.dumps(fact_set, separators=(",", ":")))
    kept = facts.compact(fact_set, full - 10)
    assert "verdict" in kept and "figures" in kept
    assert len(kept["missing"]) < len(fact_set["missing"])
    assert kept["verdict"] == fact_set["verdict"]


def test_compaction_keeps_numbers_exact() -> None:
    fact_set = {"subject": "job", "figures": {"duration_s": 12.345678901}}
    assert facts.compact(fact_set, 1000) == fact_set


def test_insight_flags_an_invented_number() -> None:
    class Inventor:
        name = "stub"
        model = "stub-1"

        def complete(self, system: str, prompt: str) -> str:
            return "The job ran for 999 seconds and used 95% of its cores."

    fact_set = report.job_report(_profile("cpu_bound"))
    insight = llm.write_insight(fact_set, Inventor())
    assert not insight.verified
    assert insight.unsupported_numbers == ["999"]
    assert insight.to_dict()["verified"] is False


def test_unknown_provider_and_bad_prompt() -> None:
    with pytest.raises(errors.UnknownProvider, match="choose one of none, openai, bedrock"):
        llm.make_provider("gpt-local")
    with pytest.raises(errors.LlmResponseError, match="no <facts> block"):
        llm.make_provider("none").complete("sys", "no facts here")
