"""Stored and JSON figures keep full precision; only the display rounds, to significant figures."""

from __future__ import annotations

import json

import pytest

from jobprobe.analysis import report, saturation
from tests.unit.analysis import usl_data


def _sdm91_points() -> list[dict[str, object]]:
    xs, ys = usl_data.load("specsdm91")
    return [
        {"value": x, "repeat": 1, "throughput": y, "record": {}}
        for x, y in zip(xs, ys, strict=True)
    ]


def test_sweep_facts_keep_the_fitted_coefficients_unrounded() -> None:
    facts = report.sweep_facts(saturation.sweep_report(_sdm91_points()))
    usl = json.loads(json.dumps(facts))["usl"]
    assert usl["kappa"] == pytest.approx(1.044e-4, rel=0.01)
    assert usl["sigma"] == pytest.approx(0.02773, rel=0.01)
    assert usl["peak_n"] == pytest.approx(96.5, rel=0.01)


def test_findings_show_kappa_to_significant_figures() -> None:
    facts = report.sweep_facts(saturation.sweep_report(_sdm91_points()))
    usl_line = next(f for f in report.sweep_findings(facts) if f.startswith("USL"))
    assert "kappa 0.0001044" in usl_line and "sigma 0.02773" in usl_line
    assert "at load 96.52" in usl_line


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1.044e-4, "0.0001044"), (0.02773, "0.02773"), (246.722, "246.7"), (1.2e-6, "1.2e-6"),
     (0.0, "0"), (123456.0, "123500"), (-3.14159, "-3.142")],
)  # fmt: skip
def test_sig_rounds_to_significant_figures(value: float, shown: str) -> None:
    assert report.sig(value) == shown


def test_comparison_of_microsecond_metrics_keeps_their_digits() -> None:
    from jobprobe.analysis import regression

    base = [{"task_id": "a", "status": "success", "metrics": {"latency_s": 0.0000120}}]
    cand = [{"task_id": "b", "status": "success", "metrics": {"latency_s": 0.0000170}}]
    facts = report.comparison_facts(regression.compare(base, cand))
    row = next(r for r in facts["rows"] if r["name"] == "metrics.latency_s")
    assert row["baseline"] == pytest.approx(1.2e-5) and row["candidate"] == pytest.approx(1.7e-5)


def test_slo_limit_reports_the_measured_passing_load_beside_the_interpolated_one() -> None:
    limit = saturation.slo_limit([1, 2, 4, 8], [10, 20, 40, 80], 30)
    assert limit.interpolated and limit.x == pytest.approx(3.0) and limit.measured_x == 2.0
    facts = report.sweep_facts(
        saturation.sweep_report(
            [{"value": v, "throughput": 10.0 * v, "p99_ms": 10.0 * v} for v in (1, 2, 4, 8)],
            slo_p99=30,
        )
    )
    line = next(f for f in report.sweep_findings(facts) if f.startswith("SLO"))
    assert "holds up to load 3 (interpolated; highest load measured to pass: 2)" in line


def test_the_offline_insight_quotes_kappa_to_significant_figures() -> None:
    from jobprobe import llm

    facts = report.sweep_facts(saturation.sweep_report(_sdm91_points()))
    facts.update({"sweep_id": "s", "vary": "load", "tool": "t", "script": "x"})
    result = llm.write_insight(facts, llm.make_provider("none"))
    assert "coherency kappa 0.0001044" in result.text and result.verified
