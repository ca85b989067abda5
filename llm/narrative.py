"""Deterministic prose from facts: what the offline ``none`` provider writes.

Every number is printed from a fact (rounded to at most two decimals, or a fraction as a
percentage with one decimal), so the narrative always passes ``verify``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

WORDS: dict[str, str] = {
    "cpu_busy_core_fraction": "the share of its busy cores actually in use",
    "cores_busy": "cores kept busy on average",
    "host_cpu_percent": "host CPU utilisation (%)",
    "mem_limit_fraction": "peak memory as a share of its limit",
    "host_mem_fraction": "host memory in use as a share of the total",
    "oom_killed": "killed by the OOM killer (1 = yes)",
    "io_mb_per_s": "disk I/O in MB/s",
    "net_mb_per_s": "network traffic in MB/s",
    "gpu_util_percent": "GPU utilisation (%)",
    "gpu_max_temp_c": "peak GPU temperature (C)",
    "gpu_slowdown_fraction": "share of samples with the GPU slowed down",
    "gpus_held": "GPUs held",
    "queue_wait_s": "seconds waiting in the queue",
    "other_cores_busy": "cores other work kept busy on its host",
    "queue_wait_fraction": "share of the total time spent queueing",
    "duration_s": "run time in seconds",
}

KIND_SENTENCE: dict[str, str] = {
    "cpu": "Its run time was limited by CPU.",
    "gpu": "Its run time was limited by the GPU.",
    "memory": "It was limited by memory.",
    "disk_io": "It was limited by disk I/O.",
    "network": "It was limited by the network.",
    "queue": "Most of its time went to waiting in the queue rather than running.",
    "throttled": "Its GPU throttled itself, so it ran below full speed.",
    "underutilised": "It left the resources it held mostly idle.",
    "contention": "Other work on its host competed for the CPUs: it was slowed by contention, "
    "not by a limit of its own.",
    "waiting": "It mostly waited (sleep, a lock or a remote service) rather than computing.",
    "balanced": "No resource was near its limit: the run was balanced.",
    "unknown": "There is not enough measured data to say what limited it.",
}


def num(value: Any) -> str:
    """A fact number as text: integers with separators, floats from 100 up to at most two
    decimals, smaller ones to 4 significant figures (a coherency of 1.044e-4 is not "0")."""
    if isinstance(value, bool) or value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        if abs(value) >= 100 or not math.isfinite(value):
            return f"{value:,.2f}".rstrip("0").rstrip(".")
        decimals = max(0, 3 - math.floor(math.log10(abs(value))))
        return f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return str(value)


def pct(fraction: float) -> str:
    """A fraction written as a percentage with one decimal."""
    return f"{fraction * 100:.1f}%"


def _job(f: Mapping[str, Any]) -> list[str]:
    verdict = f.get("verdict") or {}
    fig = f.get("figures") or {}
    head = f"Job {f.get('task_id')} ({f.get('tool')}) ended with status {f.get('status')}"
    if fig.get("duration_s") is not None:
        head += f" after {num(fig['duration_s'])} seconds"
    out = [head + "."]
    kind = str(verdict.get("kind", "unknown"))
    out.append(KIND_SENTENCE.get(kind, f"Verdict: {kind}."))
    if verdict.get("confidence") is not None:
        out.append(f"Confidence in this verdict is {pct(verdict['confidence'])}.")
    for e in verdict.get("evidence") or []:
        name = WORDS.get(e["metric"], e["metric"])
        out.append(
            f"Evidence: {name} was {num(e['value'])}, against a rule of "
            f"{e['comparison']} {num(e['threshold'])}."
        )
    if verdict.get("secondary"):
        out.append("Other limits also showed: " + ", ".join(verdict["secondary"]) + ".")
    if fig.get("cpu_seconds") is not None:
        out.append(
            f"It used {num(fig['cpu_seconds'])} CPU-seconds"
            + (
                f", about {num(fig['cores_busy'])} cores busy on average"
                if fig.get("cores_busy") is not None
                else ""
            )
            + "."
        )
    if fig.get("memory_peak_mb") is not None:
        out.append(f"Its memory peaked at {num(fig['memory_peak_mb'])} MB.")
    if fig.get("gpu_util_percent") is not None:
        out.append(
            f"Its GPUs ({num(fig.get('gpus_held'))} held) averaged "
            f"{num(fig['gpu_util_percent'])}% utilisation, "
            f"{num(fig.get('gpu_seconds'))} busy GPU-seconds."
        )
    if fig.get("queue_wait_s") is not None:
        out.append(f"It waited {num(fig['queue_wait_s'])} seconds in the queue before starting.")
    metrics = f.get("metrics") or {}
    if metrics:
        out.append(
            "The job reported " + ", ".join(f"{k} {num(v)}" for k, v in metrics.items()) + "."
        )
    for advice in verdict.get("advice") or []:
        out.append(f"What to do: {advice}")
    if f.get("missing"):
        out.append("Not measured: " + "; ".join(str(m) for m in f["missing"]) + ".")
    return out


def _knee(label: str, knee: Mapping[str, Any] | None) -> str:
    if not knee:
        return f"{label}: no data."
    if knee.get("found"):
        return f"{label} is at load {num(knee['x'])}, where the value is {num(knee['y'])}."
    return f"{label}: none found ({knee.get('reason')})."


def _sweep(f: Mapping[str, Any]) -> list[str]:
    points = f.get("points") or []
    out = []
    if points:
        out.append(
            f"The sweep covered loads from {num(points[0]['value'])} to {num(points[-1]['value'])}."
        )
    out.append(_knee("The throughput saturation point", f.get("throughput_knee")))
    out.append(_knee("The p99 latency knee", f.get("latency_knee")))
    usl = f.get("usl") or {}
    if usl.get("ok"):
        text = (
            f"A Universal Scalability Law fit gives contention sigma {num(usl['sigma'])} and "
            f"coherency kappa {num(usl['kappa'])} (R-squared {num(usl['r2'])})"
        )
        if usl.get("peak_n") is not None:
            text += (
                f"; it predicts peak throughput {num(usl['peak_throughput'])} at load "
                f"{num(usl['peak_n'])}"
            )
        out.append(text + ".")
    elif usl:
        out.append(f"No scalability fit: {usl.get('reason')}.")
    slo = f.get("slo")
    if slo:
        out.append(
            f"The p99 SLO of {num(slo['slo_p99'])} ms holds up to load {num(slo['x'])}."
            if slo.get("found")
            else f"The p99 SLO is never met: {slo.get('reason')}."
        )
    sat = f.get("saturation") or {}
    if sat.get("resource"):
        util = (sat.get("utilisation") or {}).get(sat["resource"])
        share = f" at {pct(util)} of its limit" if isinstance(util, float) else ""
        out.append(
            f"At load {num(sat['value'])} the resource closest to its limit is "
            f"{sat['resource']}{share}; the job there was classified "
            f"{sat.get('verdict')}."
        )
    return out


def _comparison(f: Mapping[str, Any]) -> list[str]:
    out = [
        f"Candidate ({num(f.get('candidate_runs'))} runs) against baseline "
        f"({num(f.get('baseline_runs'))} runs): "
        + ("a regression was found." if f.get("regressed") else "no regression.")
    ]
    steady = []
    for row in f.get("rows") or []:
        name, status = row["name"], row["status"]
        change = row.get("relative_change")
        moved = f" ({pct(change)})" if isinstance(change, float) else ""
        p = f", p = {num(row['p_value'])}" if row.get("p_value") is not None else ""
        if status in ("regressed", "improved", "new_cost", "noise", "unconfirmed"):
            word = {
                "regressed": "regressed",
                "improved": "improved",
                "new_cost": "is a new cost",
                "noise": "moved but not significantly",
                "unconfirmed": "got worse, unconfirmed (too few runs to tell from noise)",
            }[status]
            out.append(
                f"{name} {word}: {num(row['baseline'])} to {num(row['candidate'])}{moved}{p}."
            )
        elif status == "not_comparable":
            out.append(f"{name} could not be compared: {row.get('reason')}.")
        else:
            steady.append(name)
    if steady:
        out.append("Within thresholds: " + ", ".join(steady) + ".")
    return out


WRITERS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "job": _job,
    "sweep": _sweep,
    "comparison": _comparison,
}


def write(facts: Mapping[str, Any]) -> str:
    """The narrative for job, sweep or comparison facts (by ``facts["subject"]``)."""
    writer = WRITERS.get(str(facts.get("subject")))
    if writer is None:
        return "No report: the facts name no known subject (job, sweep or comparison)."
    return " ".join(writer(facts))
