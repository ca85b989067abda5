"""Plots are valid PNGs; reports render facts for jobs, sweeps and comparisons."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jobprobe.analysis import plots, regression, report, saturation, trends

Loader = Callable[[str], dict[str, Any]]
PNG = b"\x89PNG\r\n\x1a\n"


def _is_png(path: Path) -> bool:
    data = path.read_bytes()
    return data.startswith(PNG) and len(data) > 5000


def _sweep(profile: Loader) -> dict[str, Any]:
    record = profile("cpu_bound")
    points = [
        {
            "value": v,
            "repeat": 0,
            "throughput": 100.0 * min(v, 8),
            "p50_ms": 2.0,
            "p99_ms": 5.0 + 6.0 * max(0, v - 8),
            "record": record,
        }
        for v in (1, 2, 4, 6, 8, 10, 12, 16)
    ]
    return saturation.sweep_report(points, slo_p99=20.0)


def test_plot_job_writes_png(profile: Loader, tmp_path: Path) -> None:
    out = plots.plot_job(profile("gpu_throttled"), tmp_path / "sub" / "job.png")
    assert out == tmp_path / "sub" / "job.png" and _is_png(out)


def test_plot_job_without_timeseries(profile: Loader, tmp_path: Path) -> None:
    assert _is_png(plots.plot_job(profile("lost_unprofiled"), tmp_path / "lost.png"))


def test_plot_sweep_and_trend(profile: Loader, tmp_path: Path) -> None:
    assert _is_png(plots.plot_sweep(_sweep(profile), tmp_path / "sweep.png"))
    rows = trends.usage_over_time([profile("cpu_bound"), profile("gpu_bound")], by="tool")
    assert _is_png(plots.plot_trend(rows, tmp_path / "trend.png", metric="cpu_hours"))


def test_job_report_and_markdown(profile: Loader, tmp_path: Path) -> None:
    facts = report.job_report(profile("io_bound"))
    assert facts["subject"] == "job" and facts["verdict"]["kind"] == "disk_io"
    assert facts["figures"]["gpu_util_percent"] is None
    markdown = report.render_markdown(facts, {"timeline": tmp_path / "job.png"})
    assert "**Bottleneck: disk_io**" in markdown
    assert "io_mb_per_s" in markdown and f"]({tmp_path / 'job.png'})" in markdown
    assert "## Not measured" in markdown


def test_sweep_and_comparison_markdown(profile: Loader) -> None:
    sweep = report.sweep_facts(_sweep(profile))
    text = report.render_markdown(sweep)
    assert "Throughput saturation: at load 8" in text and "USL: lambda" in text
    comparison = regression.compare([profile("balanced")], [profile("balanced")])
    text = report.render_markdown(report.comparison_facts(comparison))
    assert text.startswith("# Comparison: no regression")


def test_render_markdown_rejects_unknown_subject() -> None:
    with pytest.raises(ValueError, match="unknown facts subject"):
        report.render_markdown({"subject": "nope"})


def test_the_job_plot_has_no_panel_for_what_was_not_measured(
    profile: Loader, tmp_path: Path
) -> None:
    from matplotlib import image

    cpu_only = image.imread(plots.plot_job(profile("balanced"), tmp_path / "cpu.png"))
    with_gpu = image.imread(plots.plot_job(profile("gpu_bound"), tmp_path / "gpu.png"))
    per_panel = 1.9 * 100
    # Three GPU panels (utilisation, temperature, power) only where a GPU was sampled.
    assert with_gpu.shape[0] - cpu_only.shape[0] == pytest.approx(3 * per_panel, abs=2)
    titles = [title for title, _, _ in plots.JOB_PANELS]
    assert (
        "Host CPU (host-wide, all work)" in titles
        and "Host network (host-wide, all work)" in titles
    )
