"""Pure analysis of job records: bottlenecks, saturation sweeps, regressions, trends, reports.

Modules (import and qualify: ``from jobprobe.analysis import bottleneck`` then ``bottleneck.classify``):

- ``bottleneck``: ``classify(record) -> Verdict`` and the ``RULES`` table.
- ``saturation``: ``knee``, ``slo_limit``, ``sweep_report``.
- ``usl``: ``usl_model``, ``usl_fit`` (the Universal Scalability Law, unit-independent).
- ``sweep``: a sweep's ``facts`` from its jobs' records (points, fingerprint, summary).
- ``regression``: ``compare(baseline, candidate, thresholds=...) -> Comparison``.
- ``trends``: ``usage_over_time``, ``trend_direction``, ``compare_periods``, ``drilldown``.
- ``stats``: ``percentile`` (the one percentile: store and profiler use it) and ``job_stats``.
- ``plots``: ``plot_job``, ``plot_sweep``, ``plot_trend`` (PNG to a given path).
- ``report``: ``job_report``, ``sweep_facts``, ``comparison_facts``, ``render_markdown``.
- ``report_files``: a job's or a sweep's report written as Markdown, JSON and PNG under a
  directory it is given (the one place analysis writes files).
- ``rules``: the bottleneck rule table (data).
- ``fields``: record look-ups shared by the above.
"""

from __future__ import annotations

__all__ = [
    "bottleneck",
    "fields",
    "plots",
    "regression",
    "report",
    "report_files",
    "rules",
    "saturation",
    "stats",
    "sweep",
    "trends",
    "usl",
]
