"""Number verification: rounding may pass, inventions may not."""

from __future__ import annotations

import pytest

from jobprobe.llm import verify

FACTS = {
    "subject": "job",
    "figures": {
        "duration_s": 1234.5678,
        "memory_peak_mb": 7400.0,
        "gpus_held": 2,
        "energy_j": 320000.0,
    },
    "verdict": {"confidence": 0.95, "kind": "cpu"},
    "rows": [{"name": "duration_seconds", "relative_change": -0.1234}],
    "missing": ["gpu: 1 GPU(s) requested but no samples"],
}


@pytest.mark.parametrize(
    "text",
    [
        "It ran for 1,234.57 seconds.",
        "It ran for 1235 seconds.",
        "It ran for 1,234.6 s and peaked at 7,400 MB.",
        "Confidence is 95%.",
        "Confidence is 95.0 percent.",
        "It fell by 12.3% (to -12.34 %).",
        "Energy was 3.2e5 J.",
        "Both 2 GPUs were held; 1 GPU was requested.",
        "The p99 on an H100 stayed flat.",
        "1. First point\n2) Second point",
    ],
)
def test_supported_numbers_pass(text: str) -> None:
    result = verify.verify(text, FACTS)
    assert result.verified, result.unsupported


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("It ran for 1,300 seconds.", "1,300"),
        ("Utilisation was 87%.", "87%"),
        ("It used 3 GPUs.", "3"),
        ("It ran for 1234.6 seconds, 1234.56 to be exact.", "1234.56"),
        ("Energy was 3.3e5 J.", "3.3e5"),
    ],
)
def test_invented_numbers_are_caught(text: str, bad: str) -> None:
    result = verify.verify(text, FACTS)
    assert not result.verified
    assert result.unsupported == [bad]


def test_extract_numbers_reads_formats() -> None:
    numbers = verify.extract_numbers("a 1,234.5 b 12.5% c 3.2e5 d -4 e x86 p99")
    assert [n.value for n in numbers] == [1234.5, 12.5, 320000.0, -4.0]
    assert [n.percent for n in numbers] == [False, True, False, False]
    assert numbers[0].tolerance == pytest.approx(0.05)
    assert numbers[2].tolerance == pytest.approx(5000.0)


def test_fact_numbers_include_numbers_inside_strings() -> None:
    assert 1.0 in verify.fact_numbers({"missing": ["1 GPU(s) requested"], "flag": True})
