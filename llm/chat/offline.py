"""The offline ``none`` provider: reads the question (``parser``), calls the same tools a model
would, and writes the answer from their results. Every figure it prints is a value of a tool
result (``narrative.num``; a fraction as a percentage), so its answers pass the number check.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from jobprobe.llm.chat import periods
from jobprobe.llm.chat.entities import Entity
from jobprobe.llm.chat.parser import Intent
from jobprobe.llm.chat.toolbox import Toolbox
from jobprobe.llm.narrative import num, pct

CAN_ANSWER = (
    'usage trends over a period ("GPU-hours trend over the past week"), this period against '
    'the last ("why is ml-team\'s usage lower this week than last?"), the most wasteful jobs, '
    'teams or queues, a job\'s status or output files ("show me the output files of job ID"), '
    "what is running now and how many GPUs are in use, comparing two teams, queues or tools, "
    "what an ISS job type takes on a platform, job counts and success rates, job listings, "
    "and the workers"
)
METRIC_WORDS = {"cpu_hours": "CPU-hours", "gpu_hours": "GPU-hours held",
                "wasted_gpu_hours": "wasted GPU-hours", "gpu_util_percent": "% GPU utilisation",
                "jobs": "jobs", "failures": "failed jobs"}  # fmt: skip
GPU_METRICS = ("gpu_hours", "wasted_gpu_hours", "gpu_util_percent")


def _n_jobs(count: Any) -> str:
    """``1 job``, ``3 jobs``."""
    return f"{num(count)} job" + ("" if count == 1 else "s")


def _title(metric: str) -> str:
    """The metric as the head of an answer ("GPU utilisation (%)", "CPU-hours")."""
    return "GPU utilisation (%)" if metric == "gpu_util_percent" else METRIC_WORDS[metric]


def filters(intent: Intent, entities: list[Entity] | None = None) -> dict[str, Any]:
    """The listing tools' filter arguments for the intent's entities, status and period."""
    out: dict[str, Any] = {}
    for entity in intent.entities if entities is None else entities:
        for key, value in entity.filters().items():
            if key == "labels":
                out.setdefault("labels", {}).update(value)
            else:
                out[key] = value
    if intent.status:
        out["status"] = intent.status
    if intent.period:
        out["since"] = intent.period.since.isoformat()
    return out


def _subject(intent: Intent) -> str:
    names = " and ".join(e.title for e in intent.entities)
    return f" for {names}" if names else ""


def _when(intent: Intent, default: str = "") -> str:
    if not intent.period:
        return default
    phrase = intent.period.phrase
    return f" in {phrase}" if phrase.startswith("the ") else f" {phrase}"


def _at(iso: Any) -> str:
    """A stored time to the minute (``2026-12-01 02:36 UTC``): the seconds are left out, not
    rounded, so every number shown is one of the time's own parts."""
    text = str(iso or "")
    return f"{text[:10]} {text[11:16]} UTC" if len(text) >= 16 else text


def _error(result: Any) -> str | None:
    """The message of a tool's error result (``{"error": ...}`` alone), else None."""
    if isinstance(result, dict) and set(result) == {"error"}:
        return str(result["error"])
    return None


def answer(intent: Intent, box: Toolbox) -> str:
    """The answer to ``intent``, from the tools' results."""
    writer = WRITERS.get(intent.kind)
    if writer is None:
        return f"I could not read that question. I can answer: {CAN_ANSWER}."
    return writer(intent, box)


def _default_week(intent: Intent, box: Toolbox) -> Intent:
    """The intent with the past week as its period when it names none."""
    if intent.period is not None:
        return intent
    return replace(intent, period=periods.rolling(7.0, box.ctx.at, "the past week"))


def _trend(intent: Intent, box: Toolbox) -> str:
    intent = _default_week(intent, box)
    metric = intent.metric if intent.metric in METRIC_WORDS else "cpu_hours"
    by = intent.by if intent.by and intent.by != "job" else "queue"
    days = intent.period.days if intent.period else 7.0
    args = {**filters(intent), "by": by, "metric": metric, "bucket": "hour" if days <= 2 else "day"}
    if metric == "failures":
        args.pop("status", None)  # failures among all finished jobs, not among the failed
    result = box.call("trend", args)
    if (err := _error(result)) is not None:
        return f"The trend could not be read: {err}."
    groups = result.get("groups") or []
    when = _when(intent)
    if not groups:
        return f"No finished jobs{_subject(intent)}{when}."
    lines = [f"{_title(metric)} per {result.get('bucket')} by {by}{_subject(intent)}{when}:"]
    if metric in GPU_METRICS:
        groups = [g for g in groups if g.get("gpu_hours")] or groups
    for g in groups:
        trend = g.get("trend") or {}
        line = (f"- {g['group']}: {num(g.get(metric))} {METRIC_WORDS[metric]} over {_n_jobs(g.get('jobs'))}, "
                f"trend {trend.get('direction', 'unknown')}")  # fmt: skip
        if metric == "gpu_hours" and g.get("wasted_gpu_hours") is not None:
            line += f"; {num(g['wasted_gpu_hours'])} of the GPU-hours wasted (GPUs idle)"
        elif metric == "gpu_util_percent":
            line += (f"; {num(g.get('gpu_hours'))} GPU-hours held, "
                     f"{num(g.get('wasted_gpu_hours'))} of them wasted (GPUs idle)")  # fmt: skip
        series = [f"{b[:10] if result.get('bucket') == 'day' else b[:13]} {num(v)}"
                  for b, v in zip(result.get("buckets") or [], g.get("series") or [], strict=False)
                  if v is not None]  # fmt: skip
        if series:
            line += " (" + ", ".join(series[-8:]) + ")"
        lines.append(line + ".")
    return "\n".join(lines)


def _moved(row: dict[str, Any], metric: str) -> float:
    """How far ``metric`` moved between the periods (utilisation: points, where both measured)."""
    if metric == "gpu_util_percent":
        return abs((row.get("change") or {}).get("gpu_util_points") or 0.0)
    now, before = (row.get("current") or {}).get(metric), (row.get("previous") or {}).get(metric)
    return abs((now or 0) - (before or 0))


def _points(value: Any) -> str:
    if value is None:
        return "not measured in both periods"
    return (
        "up " if value > 0 else "down " if value < 0 else "unchanged "
    ) + f"{num(abs(value))} points"


def _change(value: Any) -> str:
    if value is None:
        return "new (none before)"
    return ("up " if value > 0 else "down " if value < 0 else "unchanged ") + pct(abs(value))


def _period_rows(rows: list[dict[str, Any]], metric: str) -> list[str]:
    """One line per group: ``metric`` first, then the other usage figures that are not 0."""
    out = []
    order = [metric] + [m for m in ("gpu_hours", "wasted_gpu_hours", "cpu_hours", "jobs")
                        if m != metric]  # fmt: skip
    for r in rows:
        cur, prev, change = r.get("current") or {}, r.get("previous") or {}, r.get("change") or {}
        bits = [
            f"{num(cur.get(m))} {METRIC_WORDS[m]} against {num(prev.get(m))} before "
            f"({_points(change.get('gpu_util_points')) if m == 'gpu_util_percent' else _change(change.get(m))})"
            for m in order
            if m == metric or cur.get(m) or prev.get(m)
        ]
        out.append(f"- {r['group']}: " + "; ".join(bits) + ".")
    return out


def _compare_periods(intent: Intent, box: Toolbox) -> str:
    days = intent.period.days if intent.period else 7.0
    metric = intent.metric if intent.metric in ("gpu_hours", "cpu_hours", "wasted_gpu_hours",
                                                 "gpu_util_percent", "failures", "jobs") else "cpu_hours"  # fmt: skip
    base = {k: v for k, v in filters(intent).items() if k in ("labels", "queue", "tool")}
    by = intent.entities[0].group_by() if intent.entities else (
        intent.by if intent.by and intent.by != "job" else "queue")  # fmt: skip
    result = box.call("compare_periods", {**base, "days": days, "by": by})
    if (err := _error(result)) is not None:
        return f"The periods could not be compared: {err}."
    rows = result.get("groups") or []
    span = f"the last {num(days)} days against the {num(days)} days before"
    if not rows:
        return f"No finished jobs{_subject(intent)} in {span}."
    lines = [
        f"{_title(metric)}{_subject(intent)}, {span}, by {by}:",
        *_period_rows(rows, metric),
    ]
    if intent.why or intent.entities:
        detail = box.call("compare_periods", {**base, "days": days, "by": "tool"})
        tools_rows = [] if _error(detail) else detail.get("groups") or []
        # Largest change first: the workloads that moved the total.
        tools_rows.sort(key=lambda r: -_moved(r, metric))
        if tools_rows:
            lines.append("By workload (tool), largest change first:")
            lines += _period_rows(tools_rows[:5], metric)
    return "\n".join(lines)


def _rank(intent: Intent, box: Toolbox) -> str:
    """Who used the most (or least): the groups' totals of a metric, largest first."""
    intent = _default_week(intent, box)
    metric = intent.metric if intent.metric in METRIC_WORDS else "cpu_hours"
    by = intent.by if intent.by and intent.by != "job" else "label:team"
    result = box.call("trend", {**filters(intent), "by": by, "metric": metric, "bucket": "day"})
    if (err := _error(result)) is not None:
        return f"The usage could not be read: {err}."
    least = bool(re.search(r"\b(?:least|lowest|smallest|fewest)\b", intent.question))
    groups = sorted(result.get("groups") or [], key=lambda g: g.get(metric) or 0, reverse=not least)
    if not groups:
        return f"No finished jobs{_subject(intent)}{_when(intent)}."
    lines = [f"{_title(metric)} by {by}{_subject(intent)}{_when(intent)}, "
             f"{'least' if least else 'most'} first:"]  # fmt: skip
    for g in groups[: max(intent.top, 5)]:
        lines.append(f"- {g['group']}: {num(g.get(metric))} {METRIC_WORDS[metric]} "
                     f"({_n_jobs(g.get('jobs'))}).")  # fmt: skip
    return "\n".join(lines)


def _waste(intent: Intent, box: Toolbox) -> str:
    path = [b for b in intent.mentions.by if b != "job"][:3]
    by = ", ".join(path) if path else None
    args = {**filters(intent), "path": path, "top": intent.top}
    result = box.call("drilldown", args)
    if (err := _error(result)) is not None:
        return f"The waste could not be read: {err}."
    tree = result.get("tree") or {}
    kids = tree.get("children") or []
    what = by or "jobs"
    if not kids:
        return f"No finished jobs{_subject(intent)}{_when(intent)}."
    lines = [f"Most wasted GPU-hours (GPUs held x idle share x hours) by {what}{_subject(intent)}"
             f"{_when(intent)}, of {num(tree.get('wasted_gpu_hours'))} wasted in all over "
             f"{_n_jobs(tree.get('jobs'))}:"]  # fmt: skip
    for c in kids:
        wasted = (
            "unknown (no GPU samples)"
            if c.get("wasted_gpu_hours") is None
            else num(c["wasted_gpu_hours"])
        )
        extra = f", {_n_jobs(c.get('jobs'))}" if c.get("level") != "job" else f", {c.get('status')}"
        name = f"`{c.get('name')}`" if c.get("level") == "job" else c.get("name")
        lines.append(f"- {c.get('level')} {name}: {wasted} wasted of "
                     f"{num(c.get('gpu_hours'))} GPU-hours held{extra}.")  # fmt: skip
    if tree.get("gpu_unknown_jobs"):
        lines.append(f"{_n_jobs(tree['gpu_unknown_jobs'])} held GPUs without GPU samples: their "
                     "waste is unknown, not counted as 0.")  # fmt: skip
    return "\n".join(lines)


def _job(intent: Intent, box: Toolbox) -> dict[str, Any] | str:
    result = box.call("job_details", {"job_id": str(intent.job_ref)})
    if (err := _error(result)) is not None:
        return f"No answer for job {intent.job_ref}: {err}."
    return dict(result)


def _job_status(intent: Intent, box: Toolbox) -> str:
    rec = _job(intent, box)
    if isinstance(rec, str):
        return rec
    usage = rec.get("resource_usage") or {}
    parts = [f"Job `{rec.get('task_id')}` ({rec.get('tool')}, queue {rec.get('queue')}) is "
             f"{rec.get('status')}"]  # fmt: skip
    if rec.get("external_id"):
        parts[0] += f" (ISS job {rec['external_id']})"
    if rec.get("returncode") is not None:
        parts.append(f"exit code {num(rec['returncode'])}")
    if rec.get("duration_seconds") is not None:
        parts.append(f"ran {num(rec['duration_seconds'])} s")
    if usage.get("cpu_total_seconds") is not None:
        parts.append(f"{num(usage['cpu_total_seconds'])} CPU-seconds")
    if usage.get("memory_peak_mb") is not None:
        parts.append(f"peak memory {num(usage['memory_peak_mb'])} MB")
    if rec.get("gpus"):
        parts.append(f"{num(rec['gpus'])} GPUs held")
    text = ", ".join(parts) + "."
    if rec.get("error"):
        text += f" Error: {str(rec['error']).splitlines()[0][:200]}"
    history = rec.get("status_history") or []
    if history:
        last = history[-1]
        text += f" Last status change: {last.get('status')} at {_at(last.get('at'))}."
    return text


def _job_files(intent: Intent, box: Toolbox) -> str:
    rec = _job(intent, box)
    if isinstance(rec, str):
        return rec
    files = rec.get("artifacts") or []
    if not files and rec.get("external_id") and box.has("iss_files"):
        listed = box.call("iss_files", {"job_id": str(rec["external_id"])})
        files = [] if _error(listed) else listed.get("files") or []
    if not files:
        return f"Job `{rec.get('task_id')}` ({rec.get('status')}) has no output files recorded."
    lines = [f"Output files of job `{rec.get('task_id')}` ({rec.get('status')}):"]
    for f in files[:20]:
        if isinstance(f, dict):
            name = f.get("name") or f.get("path") or f.get("file_name") or f.get("id")
            size = f.get("size") if f.get("size") is not None else f.get("size_bytes")
            lines.append(f"- {name}" + (f" ({num(size)} bytes)" if size is not None else ""))
        else:
            lines.append(f"- {f}")
    return "\n".join(lines)


def _running(intent: Intent, box: Toolbox) -> str:
    narrowed = {k: v for k, v in filters(intent).items() if k in ("tool", "queue", "labels")}
    result = box.call("running_now", narrowed)
    if (err := _error(result)) is not None:
        return f"What runs now could not be read: {err}."
    running = result.get("running_jobs")
    lines = [f"Right now {_n_jobs(running)}{_subject(intent)} {'is' if running == 1 else 'are'} running, "
             f"holding {num(result.get('gpus_in_use'))} GPUs."]  # fmt: skip
    for queue, row in sorted((result.get("by_queue") or {}).items()):
        lines.append(f"- queue {queue}: {num(row.get('running_jobs'))} running, "
                     f"{num(row.get('gpus_in_use'))} GPUs.")  # fmt: skip
    if box.has("queues"):
        queues = box.call("queues", {})
        for row in [] if _error(queues) else queues.get("queues") or []:
            if row.get("queued"):
                lines.append(f"- queue {row.get('queue')}: {num(row['queued'])} waiting.")
    for job in (result.get("jobs") or [])[:5]:
        lines.append(
            f"  job `{job.get('task_id')}` ({job.get('tool')}, {num(job.get('gpus'))} GPUs)"
        )
    return "\n".join(lines)


def _stats_line(group: dict[str, Any]) -> str:
    rate = group.get("success_rate")
    bits = [f"{_n_jobs(group.get('jobs'))}"]
    if group.get("failed") is not None:
        bits.append(f"{num(group['failed'])} failed")
    if rate is not None:
        bits.append(f"success rate {pct(rate) if rate <= 1 else num(rate) + '%'}")
    for key, word in (("duration_p50_s", "median duration"), ("duration_p95_s", "p95 duration")):
        if group.get(key) is not None:
            bits.append(f"{word} {num(group[key])} s")
    if group.get("cpu_seconds") is not None:
        bits.append(f"{num(group['cpu_seconds'])} CPU-seconds")
    if group.get("memory_peak_max_mb") is not None:
        bits.append(f"peak memory up to {num(group['memory_peak_max_mb'])} MB")
    if group.get("queue_wait_mean_s") is not None:
        bits.append(f"mean queue wait {num(group['queue_wait_mean_s'])} s")
    return ", ".join(bits)


def _stats(intent: Intent, box: Toolbox, entities: list[Entity] | None = None) -> str:
    chosen = intent.entities if entities is None else entities
    by = chosen[0].group_by() if len(chosen) == 1 else (
        intent.by if intent.by and intent.by != "job" else "tool")  # fmt: skip
    result = box.call("job_stats", {**filters(intent, chosen), "by": by})
    if (err := _error(result)) is not None:
        return f"The statistics could not be read: {err}."
    groups = result.get("groups") or []
    who = " and ".join(e.title for e in chosen)
    status = f" {intent.status}" if intent.status else ""
    if not groups:
        return f"No{status} jobs{' for ' + who if who else ''}{_when(intent)}."
    lines = [f"Jobs{status}{' for ' + who if who else ''}{_when(intent)} by {by}:"]
    lines += [f"- {g.get('group')}: {_stats_line(g)}." for g in groups[:12]]
    return "\n".join(lines)


def _compare_groups(intent: Intent, box: Toolbox) -> str:
    a, b = intent.entities[0], intent.entities[1]
    lines = [f"{a.title} against {b.title}{_when(intent)}:"]
    for entity in (a, b):
        lines.append(_stats(intent, box, [entity]).split("\n", 1)[-1])
        trend = box.call("trend", {**filters(intent, [entity]), "by": entity.group_by(),
                                   "metric": "gpu_hours"})  # fmt: skip
        for g in [] if _error(trend) else trend.get("groups") or []:
            if g.get("group") == entity.value:
                lines.append(f"  {entity.value}: {num(g.get('cpu_hours'))} CPU-hours, "
                             f"{num(g.get('gpu_hours'))} GPU-hours held, "
                             f"{num(g.get('wasted_gpu_hours'))} wasted.")  # fmt: skip
    return "\n".join(lines)


def _jobs(intent: Intent, box: Toolbox) -> str:
    if intent.why and box.has("drilldown"):
        return _waste(intent, box)
    result = box.call("job_history", {**filters(intent), "limit": max(intent.top, 10)})
    if (err := _error(result)) is not None:
        return f"The jobs could not be listed: {err}."
    jobs = result.get("jobs") or []
    if not jobs:
        return f"No jobs{_subject(intent)}{_when(intent)}."
    lines = [f"Jobs{_subject(intent)}{_when(intent)}, newest first:"]
    for j in jobs:
        dur = j.get("duration_seconds")
        lines.append(f"- `{str(j.get('task_id'))[:8]}` {j.get('tool')} {j.get('status')}"
                     + (f", {num(dur)} s" if dur is not None else "")
                     + f", submitted {_at(j.get('submitted_at'))}")  # fmt: skip
    return "\n".join(lines)


def _workers(intent: Intent, box: Toolbox) -> str:
    if not box.has("workers"):
        return "Workers cannot be listed here (no workers tool)."
    hours = intent.period.days * 24 if intent.period else 24.0
    result = box.call("workers", {"hours": hours})
    if (err := _error(result)) is not None:
        return f"The workers could not be listed: {err}."
    rows = result.get("workers") or []
    span = intent.period.phrase if intent.period else "the past day"
    if not rows:
        return f"No worker ran or changed a job in {span}."
    lines = [f"Workers seen in {span} (holding a running job or changing one):"]
    for w in rows:
        lines.append(f"- {w.get('worker')}: queues {', '.join(w.get('queues') or [])}, "
                     f"{num(w.get('running'))} running now, {_n_jobs(w.get('jobs'))}, last seen "
                     f"{_at(w.get('last_seen'))}.")  # fmt: skip
    for q in result.get("queues") or []:
        lines.append(f"- queue {q.get('queue')}: {num(q.get('queued'))} waiting, "
                     f"{num(q.get('running'))} running.")  # fmt: skip
    return "\n".join(lines)


def _iss_config(intent: Intent, box: Toolbox) -> str:
    platform = next(e for e in intent.entities if e.kind == "platform")
    if not box.has("iss_schema"):
        return "ISS schemas cannot be read here (the ISS tools are not installed)."
    result = box.call("iss_schema", {"job_type": str(intent.iss_type), "platform": platform.value})
    if (err := _error(result)) is not None:
        return f"The {intent.iss_type} schema for {platform.value} could not be read: {err}."
    schema = result.get("schema") or {}
    required = set(schema.get("required") or [])
    lines = [f"{intent.iss_type} jobs on {platform.value} take these parameters"
             f"{' (* required)' if required else ''}:"]  # fmt: skip
    for name, spec in (schema.get("properties") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        bits = [str(spec.get("type", ""))]
        if spec.get("default") is not None:
            bits.append(f"default {num(spec['default'])}")
        if spec.get("minimum") is not None or spec.get("maximum") is not None:
            bits.append(f"from {num(spec.get('minimum'))} to {num(spec.get('maximum'))}")
        choices = spec.get("enum") or (spec.get("items") or {}).get("enum")
        if choices:
            bits.append("one of " + ", ".join(map(str, choices)))
        star = "*" if name in required else ""
        lines.append(f"- {name}{star}: " + ", ".join(b for b in bits if b))
    return "\n".join(lines)


def _sweep(intent: Intent, box: Toolbox) -> str:
    if not box.has("sweep_report"):
        return "Sweep reports cannot be read here (no sweep tool)."
    result = box.call("sweep_report", {"sweep_id": str(intent.job_ref)})
    if (err := _error(result)) is not None:
        return f"No answer for sweep {intent.job_ref}: {err}."
    jobs = result.get("jobs") or {}
    head = (f"Sweep `{result.get('sweep_id')}` ({result.get('tool')} {result.get('script')}, "
            f"varying {result.get('vary')}): {num(jobs.get('ended'))} of {num(jobs.get('total'))} "
            f"jobs ended, {num(jobs.get('succeeded'))} succeeded.")  # fmt: skip
    return "\n".join([head, *str(result.get("summary") or "").splitlines()])


WRITERS = {
    "trend": _trend, "compare_periods": _compare_periods, "waste": _waste, "rank": _rank,
    "job_status": _job_status, "job_files": _job_files, "running": _running,
    "compare_groups": _compare_groups, "stats": _stats, "jobs": _jobs, "workers": _workers,
    "iss_config": _iss_config, "sweep_report": _sweep,
}  # fmt: skip
