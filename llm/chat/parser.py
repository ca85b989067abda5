"""The offline provider's reading of a question: which form it is, and what it names.

Forms (``Intent.kind``): ``trend`` (usage over a period), ``compare_periods`` (this period
against the one before, "why is X lower"), ``waste`` (top wasteful jobs, teams, queues...),
``job_status`` and ``job_files`` (one job by id), ``running`` (what runs now, GPUs in use),
``compare_groups`` (two teams, queues or tools), ``rank`` (who used the most), ``iss_config`` (what an ISS job type takes on a
platform), ``stats`` (counts, success rate, durations), ``jobs`` (a listing), ``workers``, and
``unknown``. The form is read from word classes (synonyms), never from whole sentences;
entities come from ``entities.resolve`` against the store's real names, periods from
``periods.parse``. A question that names no form but follows an earlier turn ("and last
month?", "which jobs?") inherits that turn's form and entities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from jobprobe.llm.chat import entities as ent
from jobprobe.llm.chat import periods
from jobprobe.llm.chat.entities import Entity, Mentions, Vocabulary

FORMS = (
    "trend", "compare_periods", "waste", "rank", "job_status", "job_files", "running", "compare_groups",
    "iss_config", "stats", "jobs", "workers",
)  # fmt: skip


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")


FILES = _words(r"outputs?", r"files?", r"artifacts?", r"results? files?", r"produced", r"wrote")
CONFIGURE = _words(r"configur\w*", r"parameters?", r"params?", r"options?", r"settings?",
                   r"schema", r"inputs?", r"fields?", r"knobs?", r"set up", r"specify")  # fmt: skip
ISS_WORDS = _words(
    r"iss", r"platforms?", r"isim", r"iwps", r"coho", r"simics", r"simulation service"
)
ISS_TYPES = {"isim": "isim", "iwps": "iwps", "coho": "coho"}
NOW = _words(r"right now", r"now", r"currently", r"at the moment", r"at present", r"presently",
             r"as we speak", r"in use", r"in flight")  # fmt: skip
RUNNING = _words(r"running", r"in use", r"busy", r"active", r"occupied", r"in flight", r"executing",
                 r"going on", r"happening")  # fmt: skip
USAGE = _words(r"utili[sz]\w*", r"usage", r"used", r"use", r"consum\w*", r"gpu[- ]hours",
               r"cpu[- ]hours", r"gpu time", r"cpu time", r"core[- ]hours", r"spent", r"spend")  # fmt: skip
HOURS = _words(r"gpu[- ]hours?", r"cpu[- ]hours?", r"gpu time", r"cpu time", r"core[- ]hours?",
               r"gpu[- ]seconds?", r"cpu[- ]seconds?", r"compute time",
               r"hours of (?:gpu|cpu|compute)")  # fmt: skip
RANK = _words(r"most", r"biggest", r"largest", r"heaviest", r"top", r"highest", r"least",
              r"lowest", r"smallest", r"rank\w*", r"leaders?")  # fmt: skip
COMPARE = _words(r"compare\w*", r"vs\.?", r"versus", r"difference between", r"differ",
                 r"against", r"side by side", r"better than", r"worse than")  # fmt: skip
PREVIOUS = re.compile(
    r"\b(?:than|vs\.?|versus|compared (?:to|with)|against|relative to|from)\s+(?:the\s+)?"
    r"(?:last|previous|prior|preceding|one before|week before|day before|month before|before)\b"
    r"|\b(?:week|day|month) over (?:week|day|month)\b|\bthis \w+ (?:and|vs\.?) last\b"
)
CHANGE = _words(r"lower", r"higher", r"less", r"more", r"drop\w*", r"fell", r"fall\w*",
                r"declin\w*", r"decreas\w*", r"increas\w*", r"ris\w*", r"rose", r"went (?:up|down)",
                r"go(?:es|ne)? (?:up|down)", r"chang\w*", r"worse", r"better")  # fmt: skip
WHY = _words(r"why", r"what caused", r"cause[sd]?", r"reason", r"explain", r"which workloads",
             r"what workloads", r"responsible", r"driving", r"drove", r"behind")  # fmt: skip
WASTE = _words(r"wast\w*", r"idle", r"idling", r"underutili[sz]\w*", r"under-utili[sz]\w*",
               r"squander\w*", r"unused", r"inefficien\w*")  # fmt: skip
TREND = _words(r"trends?", r"trending", r"over time", r"daily", r"per day", r"each day",
               r"by day", r"day by day", r"hourly", r"per hour", r"by hour", r"evolv\w*",
               r"history", r"timeline", r"time series", r"growing", r"shrinking")  # fmt: skip
TREND_WEAK = _words(r"over the (?:past|last)", r"during the (?:past|last)")
STATS_STRONG = _words(r"how many", r"number of", r"count", r"success rate", r"average", r"mean",
                      r"median", r"p50", r"p95", r"how long", r"duration", r"slowest",
                      r"fastest", r"longest", r"statistics", r"stats")  # fmt: skip
STATS = _words(r"how many", r"count", r"number of", r"success rate", r"succe\w*", r"fail\w*",
               r"average", r"mean", r"median", r"p50", r"p95", r"duration", r"how long",
               r"slowest", r"fastest", r"longest", r"stats", r"statistics", r"summary",
               r"memory", r"queue wait", r"errors?")  # fmt: skip
JOBS = _words(r"which jobs", r"what jobs", r"list", r"show (?:me )?(?:the )?(?:\w+ )?jobs",
              r"recent jobs", r"latest jobs", r"last \d+ jobs", r"jobs", r"workloads", r"runs")  # fmt: skip
LIST = _words(r"list", r"show me (?:the |all |my )?(?:\w+ )?jobs", r"which jobs", r"what jobs",
              r"give me the jobs")  # fmt: skip
WORKERS = _words(r"workers?", r"nodes?", r"hosts?", r"machines?")
TOP = re.compile(r"\b(?:top|worst|biggest|largest|first)\s+(\d{1,2})\b")
GPU = _words(r"gpus?", r"gpu-hours", r"cuda", r"accelerators?")
CPU = _words(r"cpus?", r"cores?", r"cpu-hours", r"compute")
FAILURE = _words(r"fail\w*", r"errors?", r"crash\w*")
STATUS_WORDS = {"failed": "failed", "failing": "failed", "succeeded": "success",
                "successful": "success", "queued": "queued", "waiting": "queued",
                "timed out": "timeout", "cancelled": "cancelled", "canceled": "cancelled",
                "lost": "lost"}  # fmt: skip
FOLLOW_UP = _words(r"and", r"what about", r"how about", r"same", r"also", r"then", r"instead")
#: A question that opens like this and is short goes on with the previous one's form.
FOLLOW_OPENING = re.compile(r"^(?:and|what about|how about|same|also|now|then|ok,? and)\b")
#: Forms a follow-up keeps even when it opens as a follow-up ("and what is running now?").
OWN_FORMS = frozenset({"job_status", "job_files", "running", "iss_config", "workers"})


@dataclass
class Intent:
    """What the question asks: its form, period, entities, grouping, metric and the rest."""

    kind: str
    period: periods.Period | None = None
    entities: list[Entity] = field(default_factory=list)
    by: str | None = None
    metric: str | None = None
    job_ref: str | None = None
    top: int = 5
    status: str | None = None
    iss_type: str | None = None
    why: bool = False
    followed: bool = False
    question: str = ""
    mentions: Mentions = field(default_factory=Mentions)

    def context(self) -> dict[str, Any]:
        """The entities a follow-up inherits (kept in the conversation)."""
        return {
            "kind": self.kind, "period": self.period.to_dict() if self.period else None,
            "entities": [e.to_dict() for e in self.entities], "by": self.by,
            "metric": self.metric, "job_ref": self.job_ref, "status": self.status,
            "iss_type": self.iss_type, "top": self.top,
        }  # fmt: skip


def _metric(text: str) -> str:
    if WASTE.search(text):
        return "wasted_gpu_hours"
    if re.search(r"\butili[sz]\w*", text) and not CPU.search(text):
        return "gpu_util_percent"  # the GPUs' utilisation (CPU time is counted in hours)
    if FAILURE.search(text):
        return "failures"
    if GPU.search(text):
        return "gpu_hours"
    if CPU.search(text):
        return "cpu_hours"
    if re.search(r"\b(?:how many|number of) jobs\b|\bjobs (?:run|ran|submitted)\b", text):
        return "jobs"
    return "gpu_hours" if "gpu" in text else "cpu_hours"


def _status(text: str) -> str | None:
    if re.search(r"\b(?:failures?|errors)\b", text) and not re.search(r"\brates?\b", text):
        return "failed"
    for word, status in STATUS_WORDS.items():
        if re.search(rf"\b{word}\b", text):
            return status
    return None


def _by(found: Mentions, text: str, vocabulary: Vocabulary) -> str | None:
    if found.by:
        return found.by[0]
    if re.search(r"\bper job\b|\bwhich jobs\b|\bjobs\b", text):
        return "job"
    return None


def _kind(text: str, found: Mentions) -> str:
    if found.job_refs:
        if re.search(r"\bsweep\b", text):
            return "sweep_report"
        return "job_files" if FILES.search(text) else "job_status"
    if CONFIGURE.search(text) and ISS_WORDS.search(text):
        return "iss_config"
    if PREVIOUS.search(text) or (WHY.search(text) and CHANGE.search(text)):
        return "compare_periods"
    if COMPARE.search(text) and (len(found.entities) >= 2 or not periods.parse(text)):
        return "compare_groups"
    if WASTE.search(text):
        return "waste"
    if NOW.search(text) and (RUNNING.search(text) or GPU.search(text) or JOBS.search(text)):
        return "running"
    if WORKERS.search(text) and not JOBS.search(text):
        return "workers"
    if RUNNING.search(text) and not periods.parse(text) and not STATS_STRONG.search(text):
        return "running"
    if (
        RANK.search(text)
        and USAGE.search(text)
        and (found.by or GPU.search(text) or CPU.search(text))
    ):
        return "rank"
    if re.search(r"\bwhat(?:'s| is) running\b|\bwho is running\b", text):
        return "running"
    if TREND.search(text) or (periods.parse(text) and CHANGE.search(text)):
        return "trend"
    if HOURS.search(text) and not LIST.search(text):
        return "trend"
    if STATS_STRONG.search(text) and not LIST.search(text):
        return "stats"
    if TREND_WEAK.search(text) and not JOBS.search(text):
        return "trend"
    if WORKERS.search(text) and not JOBS.search(text):
        return "workers"
    if periods.parse(text) and USAGE.search(text) and not STATS_STRONG.search(text):
        return "trend"
    if LIST.search(text):
        return "jobs"
    if STATS.search(text):
        return "stats"
    if JOBS.search(text):
        return "jobs"
    if found.entities or found.by:
        return "stats"  # "how is cfd doing?": the named group's figures
    return "unknown"


def parse(
    question: str,
    vocabulary: Vocabulary,
    *,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Intent:
    """The intent of ``question``; with ``context`` (the previous turn's), a follow-up that
    names no form of its own takes the previous form and fills what it leaves out."""
    text = " ".join(question.lower().replace("\u2019", "'").split())
    found = ent.resolve(question, vocabulary)
    kind = _kind(text, found)
    top = TOP.search(text)
    iss_type = next((t for w, t in ISS_TYPES.items() if re.search(rf"\b{w}\b", text)), None)
    intent = Intent(
        kind=kind, period=periods.parse(text, now), entities=list(found.entities),
        by=_by(found, text, vocabulary), metric=_metric(text),
        job_ref=found.job_refs[0] if found.job_refs else None,
        top=min(max(int(top.group(1)), 1), 50) if top else 5, status=_status(text), iss_type=iss_type,
        why=bool(WHY.search(text)), mentions=found, question=text,
    )  # fmt: skip
    if context:
        intent = _follow(intent, text, context)
    return intent


def _follow(intent: Intent, text: str, context: dict[str, Any]) -> Intent:
    """Fill a follow-up from the previous turn's context."""
    prev_kind = context.get("kind")
    if not prev_kind or prev_kind == "unknown":
        return intent
    short = len(text.split()) <= 8
    prev_entities = [Entity.from_dict(e) for e in context.get("entities") or []]
    prev_period = periods.Period.from_dict(context["period"]) if context.get("period") else None
    opens = bool(FOLLOW_OPENING.search(text)) and short and intent.kind not in OWN_FORMS
    if opens or (intent.kind == "unknown" and (short or FOLLOW_UP.search(text))):
        return replace(
            intent, kind=prev_kind, period=intent.period or prev_period,
            entities=intent.entities or prev_entities, by=intent.by or context.get("by"),
            metric=context.get("metric") if intent.metric == "cpu_hours" else intent.metric,
            job_ref=intent.job_ref or context.get("job_ref"), iss_type=intent.iss_type
            or context.get("iss_type"), status=intent.status or context.get("status"),
            followed=True,
        )  # fmt: skip
    if intent.kind in ("jobs", "stats", "waste", "job_files", "job_status") and short:
        # "which jobs?", "how many failed?", "its output files?": the same subject as before.
        return replace(
            intent, period=intent.period or prev_period,
            entities=intent.entities or prev_entities,
            job_ref=intent.job_ref or context.get("job_ref"), followed=True,
            why=intent.why or prev_kind == "compare_periods",
        )  # fmt: skip
    return intent
