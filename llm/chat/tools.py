"""The agent's tools: JSON schemas, and thin wrappers over the read layer (``queries``).

A tool never writes SQL and never sees a credential: each calls one ``queries`` function (or,
for ``known_values``, a few) with the arguments the model gave, checked against the tool's
schema first. A query that cannot answer what was asked (``queries.errors.QueryError``: no such
job, a bad filter) comes back to the model as ``{"error": ...}`` so it can correct itself; a
store or service that is down propagates. A tool whose query module is not installed is left
out of the tools the model is shown.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jobprobe.analysis.trends import TREND_METRICS
from jobprobe.store.status import JobSource, JobStatus

if TYPE_CHECKING:
    from jobprobe.store.db import Store
    from jobprobe.worker.settings import Settings


@dataclass(frozen=True)
class ToolContext:
    """What tools run against: the store, the settings (ISS, tools file), the time now."""

    store: Store
    settings: Settings | None = None
    now: datetime | None = None

    @property
    def at(self) -> datetime:
        """The time questions are answered at."""
        return self.now or datetime.now(UTC)


Runner = Callable[[ToolContext, dict[str, Any]], Any]


@dataclass(frozen=True)
class Tool:
    """One tool: its name, what it is for, its parameters' JSON schema, what runs it, and the
    ``queries`` module it needs."""

    name: str
    description: str
    parameters: dict[str, Any]
    run: Runner
    module: str = "jobprobe.queries.jobs"

    def spec(self) -> dict[str, Any]:
        """The schema a model is shown."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}

    def available(self) -> bool:
        """Whether its query module is installed."""
        return importlib.util.find_spec(self.module) is not None


# ---- schemas -------------------------------------------------------------------------------

_STR = {"type": "string"}
FILTERS: dict[str, Any] = {
    "status": {"type": "string", "enum": [s.value for s in JobStatus]},
    "tool": {"type": "string", "description": "A tool name, e.g. python or iss:Instance."},
    "queue": {"type": "string"},
    "labels": {"type": "object", "additionalProperties": _STR,
               "description": "Labels every job must have, e.g. {\"team\": \"ml-team\"}."},
    "since": {"type": "string", "description": "Jobs submitted since: ISO date/time or 6h, 2d, 1w."},
    "source": {"type": "string", "enum": [s.value for s in JobSource]},
}  # fmt: skip
BY = {"type": "string", "description": "tool, queue, worker or label:KEY (e.g. label:team)."}


def _object(props: Mapping[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": dict(props), "required": list(required),
            "additionalProperties": False}  # fmt: skip


# ---- argument checks -----------------------------------------------------------------------

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "object": (dict,),
    "array": (list,), "boolean": (bool,),
}  # fmt: skip


def check_arguments(tool: Tool, args: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``args`` for ``tool`` (empty when they fit its schema)."""
    schema = tool.parameters
    props: dict[str, Any] = schema.get("properties", {})
    problems = [f"missing argument {name!r}" for name in schema.get("required", ())
                if name not in args]  # fmt: skip
    for name, value in args.items():
        spec = props.get(name)
        if spec is None:
            problems.append(f"unknown argument {name!r} (known: {', '.join(props) or 'none'})")
            continue
        problems += _check(name, value, spec)
    return problems


def _check(name: str, value: Any, spec: Mapping[str, Any]) -> list[str]:
    kind = spec.get("type")
    ok = _TYPES.get(str(kind), (object,))
    if (isinstance(value, bool) and kind in ("integer", "number")) or not isinstance(value, ok):
        return [f"argument {name!r} must be a {kind}"]
    if "enum" in spec and value not in spec["enum"]:
        return [f"argument {name!r} must be one of {', '.join(map(str, spec['enum']))}"]
    if kind in ("integer", "number"):
        if "minimum" in spec and value < spec["minimum"]:
            return [f"argument {name!r} must be at least {spec['minimum']}"]
        if "maximum" in spec and value > spec["maximum"]:
            return [f"argument {name!r} must be at most {spec['maximum']}"]
    if isinstance(value, list) and "items" in spec:
        return [p for i, v in enumerate(value) for p in _check(f"{name}[{i}]", v, spec["items"])]
    if isinstance(value, dict) and "additionalProperties" in spec:
        inner = spec["additionalProperties"]
        return [p for k, v in value.items() for p in _check(f"{name}.{k}", v, inner)]
    return []


# ---- runners -------------------------------------------------------------------------------


def _filters(args: Mapping[str, Any]) -> Any:
    from jobprobe.queries.filters import JobFilters

    return JobFilters.parse(
        status=args.get("status"), tool=args.get("tool"), labels=args.get("labels") or {},
        since=args.get("since"), queue=args.get("queue"), source=args.get("source"), flag="",
    )  # fmt: skip


def _job_history(ctx: ToolContext, args: dict[str, Any]) -> Any:
    from jobprobe.queries import jobs

    return jobs.job_history(ctx.store, _filters(args), limit=int(args.get("limit", 20)))


ISS_ID = re.compile(r"^[A-Z]{2,4}-\d+$", re.I)


def _job_details(ctx: ToolContext, args: dict[str, Any]) -> Any:
    """The job's details; an ISS id (JR-100003) is found among the stored ISS jobs."""
    from jobprobe.queries import iss, jobs

    ref = str(args["job_id"]).strip()
    if ISS_ID.match(ref):
        ref = iss.tracked_job_id(ctx.store, ref)
    return jobs.job_details(ctx.store, ref)


def _job_stats(ctx: ToolContext, args: dict[str, Any]) -> Any:
    from jobprobe.queries import jobs

    return jobs.job_stats(ctx.store, _filters(args), by=str(args.get("by", "tool")))


def _trend(ctx: ToolContext, args: dict[str, Any]) -> Any:
    from jobprobe.queries import usage

    out = usage.trend(
        ctx.store, _filters(args), by=str(args.get("by", "tool")),
        bucket=str(args.get("bucket", "day")), metric=str(args.get("metric", "cpu_hours")),
    )  # fmt: skip
    out.pop("rows", None)  # per bucket and group again: the groups' series say the same
    return out


def _compare_periods(ctx: ToolContext, args: dict[str, Any]) -> Any:
    from jobprobe.queries import usage

    return usage.compare_periods(
        ctx.store, days=float(args.get("days", 7.0)), by=str(args.get("by", "tool")),
        tool=args.get("tool"), queue=args.get("queue"), labels=args.get("labels") or {},
        now=ctx.now,
    )  # fmt: skip


def _drilldown(ctx: ToolContext, args: dict[str, Any]) -> Any:
    from jobprobe.queries import usage

    path = args.get("path", ["queue", "label:team", "tool"])
    return usage.drilldown(ctx.store, _filters(args), path=path, top=int(args.get("top", 5)))


def _running_now(ctx: ToolContext, args: dict[str, Any]) -> Any:
    """Jobs running now and the GPUs they asked for, in all and per queue
    (``queries.jobs.running_now``), with the newest few of them."""
    from jobprobe.queries import jobs

    narrowed = {k: args[k] for k in ("tool", "queue", "labels") if args.get(k)}
    now = jobs.running_now(ctx.store, _filters(narrowed))
    return {
        **now,
        "jobs": [{k: r.get(k) for k in RUNNING_FIELDS} for r in now["jobs"]],
        "as_of": ctx.at.isoformat(),
    }


RUNNING_FIELDS = ("task_id", "tool", "queue", "worker", "gpus", "labels", "start_time")


def _known_values(ctx: ToolContext, args: dict[str, Any]) -> Any:
    """Label keys and values, queues, tools and ISS platforms of recent jobs."""
    from jobprobe.queries import jobs

    seen = jobs.names_seen(ctx.store, days=float(args.get("days", 30)), now=ctx.at)
    return {**seen, "platforms": seen["labels"].get("platform", [])}


# ---- the registry --------------------------------------------------------------------------

_FILTERED = _object({**FILTERS, "limit": {"type": "integer", "minimum": 1, "maximum": 200}})
TOOLS: tuple[Tool, ...] = (
    Tool("job_history", "Jobs newest first, with filters (status, tool, labels, since, queue, "
         "source). Each record: task_id, tool, status, labels, queue, gpus, times, usage.",
         _FILTERED, _job_history),
    Tool("job_details", "One job by id (or a unique prefix of 6+ characters, or an ISS id): "
         "record, profile summary, status history, output files (artifacts), reports.",
         _object({"job_id": _STR}, ("job_id",)), _job_details),
    Tool("job_stats", "Per group: job count, success rate, duration p50/p95, CPU-seconds, peak "
         "memory, queue wait.", _object({**FILTERS, "by": BY}), _job_stats),
    Tool("trend", "Finished jobs' usage per day or hour and group: jobs, failures, CPU-hours, "
         "GPU-hours held, wasted GPU-hours (held x idle), GPU utilisation % (of the GPU-hours "
         "measured), with each group's series of the chosen metric and its direction "
         "(rising/falling/flat).",
         _object({**FILTERS, "by": BY, "bucket": {"type": "string", "enum": ["hour", "day"]},
                  "metric": {"type": "string", "enum": list(TREND_METRICS)}}),
         _trend, "jobprobe.queries.usage"),
    Tool("compare_periods", "The last DAYS against the DAYS before, per group: current, "
         "previous and relative change of jobs, failures, CPU-hours, GPU-hours, wasted GPU-hours, "
         "and the change of GPU utilisation % in points (gpu_util_points).",
         _object({"days": {"type": "number", "minimum": 0.001}, "by": BY, "tool": _STR,
                  "queue": _STR, "labels": FILTERS["labels"]}),
         _compare_periods, "jobprobe.queries.usage"),
    Tool("drilldown", "Where GPU-hours go: a tree along path (levels: queue, tool, worker, "
         "label:KEY; an empty path lists jobs), children ranked by wasted GPU-hours, top kept.",
         _object({**FILTERS, "path": {"type": "array", "items": _STR},
                  "top": {"type": "integer", "minimum": 1, "maximum": 50}}),
         _drilldown, "jobprobe.queries.usage"),
    Tool("running_now", "Jobs running right now (of a tool, queue or labels when given): how "
         "many, the GPUs they hold, per queue.",
         _object({k: FILTERS[k] for k in ("tool", "queue", "labels")}), _running_now),
    Tool("known_values", "What can be named: label keys and their values (teams, users, "
         "projects), queues, tools and ISS platforms seen in recent jobs.",
         _object({"days": {"type": "integer", "minimum": 1, "maximum": 365}}), _known_values),
)  # fmt: skip


def by_name() -> dict[str, Tool]:
    """The available tools by name (those whose query module is installed)."""
    from jobprobe.llm.chat import tools_more

    every: tuple[Tool, ...] = (*TOOLS, *tools_more.TOOLS)
    return {t.name: t for t in every if t.available()}
