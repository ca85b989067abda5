"""``/metrics``: the store as Prometheus sees it, read on each scrape (``prometheus_client``).

Series and their labels (every label value comes from a bounded set):

- ``jobprobe_jobs{status,tool,queue}``: jobs in the store. ``tool`` is a registered tool or
  ``other``; ``queue`` one of the configured queues or ``other``; ``status`` the closed set.
- ``jobprobe_job_duration_seconds`` and ``jobprobe_job_queue_wait_seconds{tool,queue}``:
  histograms over every job that has the figure (counted into buckets by the database).
- ``jobprobe_running_job_cpu_percent``, ``..._memory_rss_bytes``, ``..._memory_cgroup_bytes``,
  ``..._gpu_utilization_percent``, ``..._gpu_power_watts``, ``..._gpu_memory_used_bytes``,
  ``..._last_sample_timestamp_seconds`` ``{job,tool,queue}``: the newest sample of each running job. Only these gauges carry a job
  label, and only for running jobs: as many series as the pool runs jobs at once. A figure
  the job's sample does not have (no GPU, not measured) has no series, never a 0.
- ``jobprobe_workers_seen``: workers holding a running job or that changed a job in the last
  15 minutes.
- ``jobprobe_store_up``: 1 when the store answered this scrape; 0 (and nothing else) when not.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from jobprobe.web import auth

if TYPE_CHECKING:
    from jobprobe.store.db import Store
    from jobprobe.worker.settings import Settings

log = logging.getLogger(__name__)

OTHER = "other"
DURATION_BOUNDS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0,
                   21600.0, 86400.0)  # fmt: skip
WAIT_BOUNDS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0)
WORKERS_WINDOW = timedelta(minutes=15)
_MIB = 1024.0 * 1024.0
#: Running-job gauges: (name, help, sample column, factor to the base unit).
RUNNING_GAUGES = (
    ("jobprobe_running_job_cpu_percent",
     "CPU of the running job's processes, percent of one core (newest sample)",
     "proc_cpu_percent", 1.0),
    ("jobprobe_running_job_memory_rss_bytes",
     "Resident memory of the running job's process tree (newest sample; where the job runs "
     "in its own control group, the group's charge is sampled instead)", "proc_rss_mb", _MIB),
    ("jobprobe_running_job_memory_cgroup_bytes",
     "Memory charged to the running job's control group: anonymous memory and page cache "
     "(newest sample)", "cg_mem_current_mb", _MIB),
    ("jobprobe_running_job_gpu_utilization_percent",
     "GPU utilisation of the running job's GPUs, mean over them (newest sample)",
     "gpu_util_percent", 1.0),
    ("jobprobe_running_job_gpu_power_watts",
     "Power drawn by the running job's GPUs, summed (newest sample)", "gpu_power_w", 1.0),
    ("jobprobe_running_job_gpu_memory_used_bytes",
     "GPU memory used on the running job's GPUs (newest sample)", "gpu_mem_used_mb", _MIB),
    ("jobprobe_running_job_last_sample_timestamp_seconds",
     "When the running job's newest sample was taken (unix seconds)", "t", 1.0),
)  # fmt: skip
_RUNNING_LABELS = ["job", "tool", "queue"]


class StoreCollector(Collector):
    """Reads the store on every collect (that is, every scrape)."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings

    def _tools(self) -> frozenset[str]:
        from jobprobe.monitor import errors as monitor_errors
        from jobprobe.monitor.tools import load_registry

        try:
            return frozenset(load_registry(self.settings.resolved_tools_file))
        except monitor_errors.ToolError as exc:  # a broken registry: every tool is "other"
            log.warning("metrics: the tool registry cannot be read (%s)", exc)
            return frozenset()

    def _queues(self) -> frozenset[str]:
        s = self.settings
        return frozenset({s.queue_cpu, s.queue_gpu, s.queue_iss, s.queue_analysis})

    def collect(self) -> Iterator[Metric]:
        """The metric families of one scrape."""
        up = GaugeMetricFamily("jobprobe_store_up", "1 when the store answered this scrape")
        try:
            families = list(self._read())
        except Exception as exc:  # a scrape says the store is down rather than failing
            from jobprobe.store import errors as store_errors
            from jobprobe.web.errors import one_line

            if not isinstance(exc, store_errors.StoreError | OSError) and not _is_db_error(exc):
                raise
            log.warning("metrics: the store did not answer (%s)", one_line(str(exc)))
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        yield from families

    def _read(self) -> Iterator[Metric]:
        from jobprobe.store import fleet, monitoring

        tools, queues = self._tools(), self._queues()

        def bound(tool: str, queue: str) -> tuple[str, str]:
            return (tool if tool in tools else OTHER, queue if queue in queues else OTHER)

        with self.store.session() as session:
            figures = monitoring.job_aggregates(
                session, duration_bounds=DURATION_BOUNDS, wait_bounds=WAIT_BOUNDS
            )
            running = monitoring.running_jobs(session)
            seen = len(fleet.workers(session, since=datetime.now(UTC) - WORKERS_WINDOW))

        jobs = GaugeMetricFamily(
            "jobprobe_jobs", "Jobs in the store by status, tool and queue",
            labels=["status", "tool", "queue"],
        )  # fmt: skip
        merged: dict[tuple[str, str, str], int] = {}
        for (status, tool, queue), n in figures.counts.items():
            key = (status, *bound(tool, queue))
            merged[key] = merged.get(key, 0) + n
        for key, n in sorted(merged.items()):
            jobs.add_metric(list(key), float(n))
        yield jobs
        yield _histogram(
            "jobprobe_job_duration_seconds", "How long jobs ran (jobs that have a duration)",
            figures.durations, DURATION_BOUNDS, bound,
        )  # fmt: skip
        yield _histogram(
            "jobprobe_job_queue_wait_seconds", "How long jobs waited in their queue before "
            "running", figures.waits, WAIT_BOUNDS, bound,
        )  # fmt: skip
        yield from _running(running, bound)
        workers = GaugeMetricFamily(
            "jobprobe_workers_seen",
            "Workers holding a running job or that changed a job in the last 15 minutes",
        )
        workers.add_metric([], float(seen))
        yield workers


def _is_db_error(exc: BaseException) -> bool:
    import sqlalchemy.exc

    return isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError)


def _histogram(
    name: str, documentation: str, series: dict[tuple[str, str], Any],
    bounds: tuple[float, ...], bound: Any,
) -> HistogramMetricFamily:  # fmt: skip
    from jobprobe.store.monitoring import Buckets

    merged: dict[tuple[str, str], Buckets] = {}
    for (tool, queue), buckets in series.items():
        key = bound(tool, queue)
        if key in merged:
            merged[key].add(buckets)
        else:
            merged[key] = Buckets(list(buckets.counts), buckets.total, buckets.sum)
    family = HistogramMetricFamily(name, documentation, labels=["tool", "queue"])
    for key, b in sorted(merged.items()):
        cumulative, running = [], 0
        for le, n in zip([*map(floatToGoString, bounds), "+Inf"], b.counts, strict=True):
            running += n
            cumulative.append((le, float(running)))
        family.add_metric(list(key), cumulative, sum_value=b.sum)
    return family


def _running(jobs: Iterable[Any], bound: Any) -> Iterator[Metric]:
    gauges = [
        (GaugeMetricFamily(name, doc, labels=_RUNNING_LABELS), column, factor)
        for name, doc, column, factor in RUNNING_GAUGES
    ]
    for job in jobs:
        labels = [job.id, *bound(job.tool, job.queue)]
        sample = job.sample or {}
        for family, column, factor in gauges:
            value = sample.get(column)
            if value is not None:  # not measured: no series, never 0
                family.add_metric(labels, float(value) * factor)
    for family, _, _ in gauges:
        yield family


def registry_for(store: Store, settings: Settings) -> CollectorRegistry:
    """A registry holding only the store's collector (no process metrics of this server)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store, settings))
    return registry


router = APIRouter(include_in_schema=False)


@router.get("/metrics", dependencies=[Depends(auth.require_read)])
def metrics(request: Request) -> Response:
    """The Prometheus exposition of the store (read on this request)."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
