"""Sweeps as ``sweep-report --json`` prints them, and a listing of them: what each varies,
how many of its jobs ended and succeeded, and its saturation facts (throughput and latency
per load, knee, USL fit, SLO limit, saturating resource)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobprobe.queries import errors
from jobprobe.store.status import TERMINAL, JobStatus, SweepStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jobprobe.store.db import Store
    from jobprobe.store.models import Sweep

#: The most sweeps one listing holds.
MAX_LIMIT = 1000


def list_sweeps(
    store: Store, *, limit: int = 20, status: str | None = None, tool: str | None = None
) -> dict[str, Any]:
    """``{"sweeps": [...]}`` newest first: each sweep's record (``sweep_id``, ``tool``,
    ``script``, ``vary``, ``values``, ``repeat``, ``sweep_status``, ``slo_p99_ms``) with
    ``created_at`` and ``jobs`` ``{"total", "ended", "succeeded"}``."""
    from jobprobe.store import records
    from jobprobe.store import sweeps as store_sweeps

    if not 1 <= limit <= MAX_LIMIT:
        raise errors.BadFilter(f"limit must be 1 to {MAX_LIMIT} (got {limit})", field="limit")
    if status and status not in set(SweepStatus):
        raise errors.BadFilter(
            f"unknown sweep status {status!r}; use one of {', '.join(SweepStatus)}",
            field="status",
        )
    with store.session() as session:
        found = store_sweeps.list_sweeps(
            session, limit=limit, status=SweepStatus(status) if status else None, tool=tool
        )
        counts = store_sweeps.job_counts(session, [s.id for s in found])
        out = []
        for sweep in found:
            by_status = counts.get(sweep.id, {})
            out.append({
                **records.sweep_record(sweep), "created_at": sweep.created_at.isoformat(),
                "jobs": {
                    "total": sum(by_status.values()),
                    "ended": sum(n for s, n in by_status.items() if s in TERMINAL),
                    "succeeded": by_status.get(JobStatus.SUCCESS, 0),
                },
            })  # fmt: skip
    return {"sweeps": out}


def sweep_facts(
    session: Session, sweep: Sweep, *, throughput_metric: str | None = None,
    latency_metric: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The sweep's facts from its stored jobs (``analysis.sweep.facts``; it may still run),
    the throughput and p99 metrics named or found by their common names."""
    from jobprobe.analysis import sweep as sweep_analysis
    from jobprobe.store import records
    from jobprobe.store import sweeps as store_sweeps

    recs = store_sweeps.sweep_records(session, sweep.id)
    return sweep_analysis.facts(
        records.sweep_record(sweep), recs,
        throughput_metric=throughput_metric, latency_metric=latency_metric,
    )  # fmt: skip


def sweep_report(
    store: Store, sweep_id: str, *, throughput_metric: str | None = None,
    latency_metric: str | None = None, plot: str | Path | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The sweep's facts (id or unique prefix), with ``report_path`` (its newest stored report,
    or None) and ``plot`` (the curves PNG written, when ``plot`` names one)."""
    from jobprobe.store import sweeps as store_sweeps

    with errors.looked_up(sweep_id), store.session() as session:
        sweep = store_sweeps.get_sweep(session, sweep_id)
        facts = sweep_facts(
            session, sweep, throughput_metric=throughput_metric, latency_metric=latency_metric
        )
        stored = store_sweeps.latest_report(session, kind="sweep", sweep_id=sweep.id)
        facts["report_path"] = stored.path if stored is not None else None
    if plot:
        from jobprobe.analysis import plots

        facts["plot"] = str(plots.plot_sweep(facts, plot))
    return facts


def reported_facts(store: Store, sweep_id: str) -> tuple[dict[str, Any], str | None]:
    """The sweep's facts now, and the path of its report when one is stored for the jobs
    that have ended so far (None while it has none or an older one)."""
    from jobprobe.store import sweeps as store_sweeps

    with errors.looked_up(sweep_id), store.session() as session:
        sweep = store_sweeps.get_sweep(session, sweep_id)
        facts = sweep_facts(session, sweep)
        stored = store_sweeps.current_report(session, sweep.id, facts["jobs_fingerprint"])
        return facts, stored.path if stored is not None else None
