"""Submitting a load sweep: one job per value (and repeat) of one parameter, as a group."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jobprobe.analysis import sweep as sweep_analysis
from jobprobe.store import sweeps as store_sweeps
from jobprobe.tasks import broker, errors, reporting
from jobprobe.worker import runtime
from jobprobe.worker.settings import Settings


def submit_sweep(
    tool: str,
    script: str | Path,
    *,
    vary_name: str,
    values: Sequence[Any],
    repeat: int = 1,
    params: Mapping[str, Any] | None = None,
    labels: Mapping[str, Any] | None = None,
    slo_p99_ms: float | None = None,
    queue: str | None = None,
    timeout: float | None = None,
    parallel: int = 1,
    on_created: Callable[[str], None] | None = None,
    settings: Settings,
) -> str:
    """Record a sweep and submit one job per value and repeat; returns the sweep id
    (``on_created`` hears it as soon as the sweep is recorded, before any job runs).

    The points run one at a time by default, so a sweep never measures its own interference:
    distributed mode sends them as a Celery chain (each job is queued when the one before it
    ended), its last link the sweep analysis. ``parallel`` N > 1 opts in to N chains at once,
    for independent points, joined by a chord whose callback writes the sweep report. Embedded
    mode runs the jobs here, one after the other, then the sweep analysis.
    """
    from celery import chain, chord, group

    from jobprobe.tasks import submission
    from jobprobe.tasks.analysis import ANALYZE_SWEEP
    from jobprobe.worker.app import RUN_SIMULATION, create_app, task

    if not values or any(sweep_analysis.number(v) is None for v in values):
        raise errors.SubmitError(f"--vary {vary_name}= needs numbers (got {list(values)!r})")
    if repeat < 1:
        raise errors.SubmitError(f"--repeat must be 1 or more (got {repeat})")
    if parallel < 1:
        raise errors.SubmitError(f"--parallel must be 1 or more (got {parallel})")
    store = runtime.get_store(settings)
    with store.session() as session:
        sweep_id = store_sweeps.create_sweep(
            session,
            tool=tool,
            script_name=Path(script).name,
            vary_name=vary_name,
            vary_values=list(values),
            repeat=repeat,
            params=dict(params or {}),
            labels={str(k): str(v) for k, v in (labels or {}).items()},
            slo_p99_ms=slo_p99_ms,
        ).id
    if on_created is not None:
        on_created(sweep_id)
    try:
        job_ids = [
            submission.create(
                tool,
                script,
                params={**(params or {}), vary_name: value},
                labels=labels,
                queue=queue,
                timeout=timeout,
                sweep_id=sweep_id,
                settings=settings,
            )
            for value in values
            for _ in range(repeat)
        ]
        if settings.embedded:
            for job_id in job_ids:
                submission.enqueue(job_id, settings=settings)
            reporting.analyze_sweep_now(store, sweep_id, settings.resolved_reports_dir)
            return sweep_id
        app = create_app(settings)
        with store.session() as session:
            queues = {j.id: j.queue for j in store_sweeps.sweep_jobs(session, sweep_id)}
        run = task(app, RUN_SIMULATION)
        analyse = task(app, ANALYZE_SWEEP).si(sweep_id)
        # Job tasks keep no Celery result (the store has it), but a chord's members must: some
        # result backends count a chord's finished members by their stored results.
        steps = [run.si(j).set(queue=queues[j], ignore_result=False) for j in job_ids]
        if parallel == 1:
            chain(*steps, analyse).apply_async()
        else:
            lanes = [chain(*steps[i::parallel]) for i in range(min(parallel, len(steps)))]
            chord(group(lanes), analyse).apply_async()
    except BaseException as exc:
        # Leave nothing half-written behind: a bad job, or any failure to send (embedded mode
        # ran the jobs, which keep their outcomes).
        if isinstance(exc, errors.SubmitError) or not settings.embedded:
            with store.session() as session:
                store_sweeps.delete_sweep(session, sweep_id)
        if not settings.embedded and broker.unreachable(exc):
            raise errors.BrokerUnavailable(f"could not queue the sweep: {exc}") from exc
        raise
    return sweep_id
