"""The agent's tools over the other read modules: comparisons, sweeps, the worker pool and ISS.

Each is a thin wrapper over one ``queries`` function; a tool whose module is not installed is
left out (``Tool.available``).
"""

from __future__ import annotations

from typing import Any

from jobprobe.llm.chat.tools import _STR, FILTERS, Tool, ToolContext, _object

_LABELS = FILTERS["labels"]


def _compare(ctx: ToolContext, args: dict[str, Any]) -> Any:
    from jobprobe.queries import comparison, errors

    if args.get("baseline_ids") and args.get("candidate_ids"):
        return comparison.compare_jobs(ctx.store, args["baseline_ids"], args["candidate_ids"])
    if args.get("baseline_labels") and args.get("candidate_labels"):
        return comparison.compare_groups(
            ctx.store, args["baseline_labels"], args["candidate_labels"], tool=args.get("tool")
        )
    raise errors.BadFilter("give baseline_ids and candidate_ids, or baseline_labels and "
                           "candidate_labels", field="compare")  # fmt: skip


def _sweep_report(ctx: ToolContext, args: dict[str, Any]) -> Any:
    from jobprobe.queries import sweeps

    facts, path = sweeps.reported_facts(ctx.store, str(args["sweep_id"]))
    return {**facts, "report_path": path}


def _sweeps(ctx: ToolContext, args: dict[str, Any]) -> Any:
    from jobprobe.queries import sweeps

    return sweeps.list_sweeps(ctx.store, limit=int(args.get("limit", 10)), tool=args.get("tool"))


def _workers(ctx: ToolContext, args: dict[str, Any]) -> Any:
    from jobprobe.queries import fleet

    hours = float(args.get("hours", 1.0))
    return {**fleet.workers_seen(ctx.store, within_s=hours * 3600.0, now=ctx.now),
            **fleet.queue_lengths(ctx.store)}  # fmt: skip


def _queues(ctx: ToolContext, args: dict[str, Any]) -> Any:
    from jobprobe.queries import fleet

    return fleet.queue_lengths(ctx.store)


def _iss(ctx: ToolContext, call: Any) -> Any:
    """``call(client)`` on an ISS client from the settings; ISS unconfigured or failing comes
    back as ``{"error": ...}`` (the answer says so; nothing else of the question depends on it).
    """
    from jobprobe.iss_client import errors as iss_errors
    from jobprobe.tasks import errors as task_errors
    from jobprobe.tasks import iss as iss_tasks

    if ctx.settings is None:
        return {"error": "ISS is not configured here (no settings)"}
    try:
        with iss_tasks.make_client(ctx.settings) as client:
            return call(client)
    except task_errors.IssNotConfigured as exc:
        return {"error": str(exc).splitlines()[0]}
    except iss_errors.IssError as exc:
        return {
            "error": f"ISS answered: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        }


def _iss_platforms(ctx: ToolContext, args: dict[str, Any]) -> Any:
    from jobprobe.queries import iss

    return _iss(ctx, iss.iss_platforms)


def _iss_schema(ctx: ToolContext, args: dict[str, Any]) -> Any:
    from jobprobe.queries import iss

    kind, platform = iss.file_kind(str(args["job_type"])), str(args["platform"])
    return _iss(ctx, lambda client: {"job_type": kind, "platform": platform,
                                     "schema": client.get_schema(kind, platform)})  # fmt: skip


def _iss_files(ctx: ToolContext, args: dict[str, Any]) -> Any:
    from jobprobe.queries import iss

    return _iss(ctx, lambda client: iss.iss_files(client, str(args["job_id"]), args.get("kind")))


def _iss_jobs(ctx: ToolContext, args: dict[str, Any]) -> Any:
    from jobprobe.queries import iss

    return _iss(ctx, lambda client: iss.iss_jobs(
        client, status=args.get("status"), job_type=args.get("job_type"),
        limit=int(args.get("limit", 20))))  # fmt: skip


TOOLS: tuple[Tool, ...] = (
    Tool("compare", "Compare two sets of finished jobs (ids, or two label groups such as "
         "{\"team\": \"ml-team\"} vs {\"team\": \"cv-team\"}): duration, CPU-seconds, peak "
         "memory, GPU-seconds, energy, success rate and the jobs' own metrics, with the change "
         "and whether it is a (confirmed) regression.",
         _object({"baseline_ids": {"type": "array", "items": _STR},
                  "candidate_ids": {"type": "array", "items": _STR},
                  "baseline_labels": _LABELS, "candidate_labels": _LABELS, "tool": _STR}),
         _compare, "jobprobe.queries.comparison"),
    Tool("sweep_report", "A sweep's report (id or unique prefix): per load its runs, "
         "throughput and latency, the saturation point, latency knee, USL fit and SLO limit.",
         _object({"sweep_id": _STR}, ("sweep_id",)), _sweep_report, "jobprobe.queries.sweeps"),
    Tool("sweeps", "Recent sweeps with their job counts.",
         _object({"limit": {"type": "integer", "minimum": 1, "maximum": 50}, "tool": _STR}),
         _sweeps, "jobprobe.queries.sweeps"),
    Tool("workers", "Workers seen lately (holding a running job or changing a job within "
         "`hours`) and per queue the jobs waiting and running.",
         _object({"hours": {"type": "number", "minimum": 0.01, "maximum": 720}}),
         _workers, "jobprobe.queries.fleet"),
    Tool("queues", "Per queue: jobs waiting and running now, and the oldest waiting.",
         _object({}), _queues, "jobprobe.queries.fleet"),
    Tool("iss_platforms", "The platforms the Intel Simulation Service offers (Simics models, "
         "cores, memory, features), live from ISS.", _object({}), _iss_platforms,
         "jobprobe.queries.iss"),
    Tool("iss_schema", "What a job type (isim, iwps, coho, or an ISS type) takes on a platform: "
         "the JSON schema of its parameters (names, types, defaults, limits), live from ISS.",
         _object({"job_type": _STR, "platform": _STR}, ("job_type", "platform")), _iss_schema,
         "jobprobe.queries.iss"),
    Tool("iss_files", "An ISS job's output files (name, path, size), live from ISS's file "
         "service.", _object({"job_id": _STR, "kind": _STR}, ("job_id",)), _iss_files,
         "jobprobe.queries.iss"),
    Tool("iss_jobs", "Jobs on ISS right now (ISS's own statuses), live from ISS.",
         _object({"status": _STR, "job_type": _STR,
                  "limit": {"type": "integer", "minimum": 1, "maximum": 100}}), _iss_jobs,
         "jobprobe.queries.iss"),
)  # fmt: skip
