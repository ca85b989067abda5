"""Usage over time: trends per group, this period against the last, and where GPU-hours go."""

from __future__ import annotations

import click

from jobprobe.analysis.trends import TREND_METRICS
from jobprobe.commands import context, options, rendering
from jobprobe.commands.errors import guarded
from jobprobe.commands.rendering import (
    emit_json,
    fmt_change,
    fmt_hours,
    fmt_num,
    sparkline,
    table,
)
from jobprobe.queries import usage as query_usage
from jobprobe.queries.filters import JobFilters

by_option = click.option(
    "--by", default="tool", show_default=True, help="tool, queue, worker or label:KEY"
)


@click.command()
@by_option
@click.option("--bucket", type=click.Choice(["hour", "day"]), default="day", show_default=True)
@click.option("--metric", type=click.Choice(TREND_METRICS), default="cpu_hours", show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False), help="Write a trend chart PNG here.")
@options.with_filters
@options.json_option
@guarded
def trend(
    by: str, bucket: str, metric: str, plot: str | None, filters: JobFilters, as_json: bool
) -> None:
    """Usage over time per group (CPU-hours, GPU-hours, wasted GPU-hours) and its direction."""
    out = query_usage.trend(
        context.current().store, filters, by=by, bucket=bucket, metric=metric, plot=plot
    )
    if as_json:
        emit_json(out)
        return
    if not out["rows"]:
        click.echo("no finished jobs match")
        return
    buckets, groups = out["buckets"], out["groups"]
    span = f"{buckets[0][:16]} .. {buckets[-1][:16]}" if buckets else "- .. -"
    click.echo(f"{metric} per {bucket} by {by}, {span}")
    click.echo(table(
        [by.upper(), "JOBS", "FAILED", "CPU h", "GPU h", "WASTED GPU h", "GPU %", "TREND", metric],
        [(g["group"], g["jobs"], g["failures"], fmt_hours(g["cpu_hours"]), fmt_hours(g["gpu_hours"]),
          fmt_hours(g["wasted_gpu_hours"]), fmt_num(g["gpu_util_percent"], 0),
          g["trend"]["direction"], sparkline(g["series"]))
         for g in groups],
    ))  # fmt: skip
    if plot:
        click.echo(f"plot: {out['plot']}")


@click.command("compare-periods")
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=7.0, show_default=True)
@by_option
@click.option("--tool", help="Only jobs of this tool.")
@click.option("--queue", help="Only jobs of this queue.")
@click.option(
    "--label", "labels", multiple=True, metavar="KEY=VALUE", help="Only jobs with this label."
)
@options.json_option
@guarded
def compare_periods(
    days: float,
    by: str,
    tool: str | None,
    queue: str | None,
    labels: tuple[str, ...],
    as_json: bool,
) -> None:
    """The last DAYS against the DAYS before, per group."""
    out = query_usage.compare_periods(
        context.current().store, days=days, by=by, tool=tool, queue=queue,
        labels=options.parse_pairs(labels, "--label"),
    )  # fmt: skip
    rows = out["groups"]
    if as_json:
        emit_json(out)
        return
    if not rows:
        click.echo(f"no finished jobs in the last {2 * days:g} days")
        return
    click.echo(f"last {days:g} days against the {days:g} days before, by {by}")
    click.echo(table(
        [by.upper(), "JOBS", "Δ", "FAILED", "Δ", "CPU h", "Δ", "GPU h", "Δ", "WASTED GPU h", "Δ",
         "GPU %", "Δ points"],
        [(r["group"], r["current"]["jobs"], fmt_change(r["change"]["jobs"]), r["current"]["failures"],
          fmt_change(r["change"]["failures"]), fmt_hours(r["current"]["cpu_hours"]),
          fmt_change(r["change"]["cpu_hours"]), fmt_hours(r["current"]["gpu_hours"]),
          fmt_change(r["change"]["gpu_hours"]), fmt_hours(r["current"]["wasted_gpu_hours"]),
          fmt_change(r["change"]["wasted_gpu_hours"]), fmt_num(r["current"]["gpu_util_percent"], 0),
          fmt_num(r["change"]["gpu_util_points"], 1))
         for r in rows],
    ))  # fmt: skip


@click.command()
@click.option("--path", "path_", default="queue,label:team,tool", show_default=True,
              help="Levels, comma-separated: queue, tool, worker, label:KEY.")  # fmt: skip
@click.option("--top", type=click.IntRange(1, 1000), default=5, show_default=True)
@options.with_filters
@options.json_option
@guarded
def drilldown(path_: str, top: int, filters: JobFilters, as_json: bool) -> None:
    """Queue → label → tool → job, ranked by wasted GPU-hours (GPUs x idle fraction x hours)."""
    out = query_usage.drilldown(context.current().store, filters, path=path_, top=top)
    if as_json:
        emit_json(out)
        return
    rendering.echo_lines(rendering.tree_lines(out["tree"]))
