"""Facts (JSON-ready dicts of computed figures) and their Markdown rendering.

The facts are the single source for the Markdown report, the JSON report and the ``llm`` prompt:
nothing is written about a job that is not in them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jobprobe.analysis import bottleneck, fields
from jobprobe.analysis.regression import Comparison

#: Significant figures a number is shown with; stored and JSON figures keep full precision.
DISPLAY_DIGITS = 4


def sig(value: float, digits: int = DISPLAY_DIGITS) -> str:
    """``value`` to ``digits`` significant figures, for display only (``1.044e-04`` stays
    visible where a fixed number of decimals would print 0)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    text = f"{value:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        if -5 <= int(exponent) < digits + 2:
            # Plain notation when it is short enough: 0.0001044, 123400.
            text = f"{float(text):.{max(0, digits - 1 - int(exponent))}f}"
        else:
            text = f"{mantissa}e{int(exponent)}"
    return text


def plain(value: Any) -> Any:
    """``value`` with tuples as lists (recursively): JSON-ready, every float at full precision."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def job_report(record: Mapping[str, Any]) -> dict[str, Any]:
    """Facts about one job: identity, the bottleneck verdict, key figures, metrics, gaps."""
    verdict = bottleneck.classify(record)
    derived = bottleneck.derive(record)
    metrics = record.get("metrics")
    facts = {
        "subject": "job",
        "task_id": record.get("task_id"),
        "tool": record.get("tool"),
        "status": record.get("status"),
        "returncode": record.get("returncode"),
        "queue": record.get("queue"),
        "worker": record.get("worker"),
        "verdict": {
            "kind": verdict.kind,
            "confidence": verdict.confidence,
            "evidence": [
                {
                    "metric": e.metric,
                    "value": e.value,
                    "threshold": e.threshold,
                    "comparison": e.comparison,
                }
                for e in verdict.evidence
            ],
            "advice": verdict.advice,
            "secondary": [v.kind for v in verdict.secondary],
        },
        "figures": {
            "duration_s": fields.duration_s(record),
            "queue_wait_s": fields.num(record, "queue_wait_seconds"),
            "cpu_seconds": fields.cpu_seconds(record),
            "cores_busy": derived["cores_busy"],
            "memory_peak_mb": fields.memory_peak_mb(record),
            "gpus_held": fields.gpus_held(record),
            "gpu_util_percent": fields.gpu_mean_util(record),
            "gpu_seconds": fields.gpu_seconds(record),
            "gpu_energy_j": fields.gpu_energy_j(record),
            "io_mb": fields.num(record, "detailed_profile.io_stats.total_io_mb"),
            "samples": fields.num(record, "detailed_profile.samples_collected"),
        },
        "metrics": dict(metrics) if isinstance(metrics, Mapping) else {},
        "missing": verdict.missing,
    }
    return plain(facts)


def sweep_facts(report: Mapping[str, Any]) -> dict[str, Any]:
    """Facts of a sweep: the ``saturation.sweep_report`` result at full precision."""
    return plain({**report, "subject": "sweep"})


def comparison_facts(comparison: Comparison) -> dict[str, Any]:
    """Facts of a comparison: verdict, regressed metric names first, then every row."""
    data = comparison.to_dict()
    data["regressions"] = [r.name for r in comparison.regressions]
    data["unconfirmed"] = [r.name for r in comparison.unconfirmed]
    return plain(data)


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return sig(value)
    return str(value)


def _plots(plots: Mapping[str, Path]) -> list[str]:
    return [f"![{name}]({path})" for name, path in plots.items()]


def _job_md(facts: Mapping[str, Any]) -> list[str]:
    verdict = facts["verdict"]
    lines = [
        f"# Job {facts['task_id']} ({facts['tool']}): {facts['status']}",
        "",
        f"**Bottleneck: {verdict['kind']}** (confidence {_fmt(verdict['confidence'])})",
        "",
    ]
    if verdict["secondary"]:
        lines += [f"Also: {', '.join(verdict['secondary'])}", ""]
    lines += ["| evidence | value | rule |", "| --- | --- | --- |"]
    lines += [
        f"| {e['metric']} | {_fmt(e['value'])} | {e['comparison']} {_fmt(e['threshold'])} |"
        for e in verdict["evidence"]
    ]
    lines += [
        "",
        "## Advice",
        *[f"- {a}" for a in verdict["advice"]],
        "",
        "## Figures",
        "| figure | value |",
        "| --- | --- |",
    ]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in facts["figures"].items()]
    if facts["metrics"]:
        lines += ["", "## Job metrics", "| metric | value |", "| --- | --- |"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in facts["metrics"].items()]
    if facts["missing"]:
        lines += ["", "## Not measured", *[f"- {m}" for m in facts["missing"]]]
    return lines


def _knee_finding(name: str, knee: Mapping[str, Any] | None) -> str:
    if not knee:
        return f"{name}: n/a"
    if knee.get("found"):
        return f"{name}: at load {_fmt(knee['x'])} (value {_fmt(knee['y'])})"
    return f"{name}: none ({knee.get('reason')})"


def _pm(usl: Mapping[str, Any], name: str) -> str:
    """A coefficient with its standard error when the fit gives one."""
    se = usl.get(f"{name}_se")
    return _fmt(usl[name]) + ("" if se is None else f" (± {sig(se, 2)})")


def sweep_findings(facts: Mapping[str, Any]) -> list[str]:
    """What a sweep found, one sentence each: saturation, latency knee, USL fit, SLO limit and
    the saturating resource (the report's bullet list, and the CLI's summary)."""
    findings = [
        _knee_finding("Throughput saturation", facts.get("throughput_knee")),
        _knee_finding("Latency knee (p99)", facts.get("latency_knee")),
    ]
    usl = facts.get("usl") or {}
    if usl.get("ok"):
        peak = (
            f"peak {_fmt(usl['peak_throughput'])} at load {_pm(usl, 'peak_n')}"
            if usl.get("peak_n") is not None
            else f"no peak ({usl.get('peak_note') or 'kappa = 0'})"
        )
        shaky = (
            " (poorly determined by these points: standard errors exceed the values; add loads"
            " or --repeat)"
            if usl.get("well_determined") is False
            else ""
        )
        findings.append(
            f"USL: lambda {_pm(usl, 'lambda_')}, contention sigma {_pm(usl, 'sigma')},"
            f" coherency kappa {_pm(usl, 'kappa')}, R2 {_fmt(usl['r2'])}; {peak}{shaky}"
        )
    else:
        findings.append(f"USL: not fitted ({usl.get('reason')})")
    slo = facts.get("slo")
    if slo:
        findings.append(
            f"SLO p99 <= {_fmt(slo['slo_p99'])} ms: "
            + (
                f"holds up to load {_fmt(slo['x'])}"
                + (
                    f" (interpolated; highest load measured to pass: {_fmt(slo['measured_x'])})"
                    if slo.get("interpolated") and slo.get("measured_x") is not None
                    else ""
                )
                if slo["found"]
                else f"never ({slo['reason']})"
            )
        )
    workers = facts.get("workers") or []
    if len(workers) > 1:
        findings.append(
            f"Measured on {len(workers)} workers ({', '.join(workers)}): points from different"
            " hosts are not comparable; run the sweep on one worker (the default, one at a time)"
        )
    elif workers:
        findings.append(f"Measured on one worker: {workers[0]}")
    sat = facts.get("saturation")
    if sat:
        findings.append(
            f"Saturating resource at load {_fmt(sat['value'])} ({sat['at']}): "
            f"{sat.get('resource') or 'unknown'} (verdict {sat.get('verdict', 'n/a')})"
        )
    return findings


def _sweep_md(facts: Mapping[str, Any]) -> list[str]:
    lines = [
        "# Saturation sweep",
        "",
        "| load | repeats | throughput | p50 ms | p99 ms |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {_fmt(p['value'])} | {p['repeats']} | {_fmt(p['throughput'])} | "
        f"{_fmt(p['p50_ms'])} | {_fmt(p['p99_ms'])} |"
        for p in facts.get("points", [])
    ]
    return [*lines, "", *[f"- {finding}" for finding in sweep_findings(facts)]]


def _comparison_md(facts: Mapping[str, Any]) -> list[str]:
    head = "REGRESSED" if facts["regressed"] else "no regression"
    if not facts["regressed"] and facts.get("unconfirmed"):
        head = "unconfirmed change (too few runs a side to test it)"
    lines = [
        f"# Comparison: {head}",
        "",
        f"Baseline runs: {facts['baseline_runs']}, candidate runs: {facts['candidate_runs']}",
        "",
        "| metric | baseline | candidate | change | p | status | note |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in facts["rows"]:
        change = "n/a" if r["relative_change"] is None else f"{100 * r['relative_change']:+.1f}%"
        lines.append(
            f"| {r['name']} | {_fmt(r['baseline'])} | {_fmt(r['candidate'])} | {change} "
            f"| {_fmt(r['p_value'])} | {r['status']} | {r['reason'] or ''} |"
        )
    return lines


def render_markdown(facts: Mapping[str, Any], plots: Mapping[str, Path] | None = None) -> str:
    """Markdown for job, sweep or comparison facts (by ``facts["subject"]``), plots embedded."""
    render = {"job": _job_md, "sweep": _sweep_md, "comparison": _comparison_md}.get(
        str(facts.get("subject"))
    )
    if render is None:
        raise ValueError(f"unknown facts subject {facts.get('subject')!r}")
    lines = render(facts)
    if plots:
        lines += ["", "## Plots", *_plots(plots)]
    return "\n".join(lines) + "\n"


def job_summary(facts: Mapping[str, Any]) -> str:
    """Two short lines of a job's facts: the verdict and its first advice."""
    verdict = facts["verdict"]
    head = f"{verdict['kind']} (confidence {verdict['confidence']})"
    duration = facts["figures"].get("duration_s")
    if duration is not None:
        head += f", {duration} s"
    advice = verdict["advice"][0] if verdict["advice"] else None
    return head if advice is None else f"{head}\n{advice}"
