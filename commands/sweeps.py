"""Sweeps: run a script once per load value (and repeat), and report where it stops scaling."""

from __future__ import annotations

import time
from typing import Any

import click

from jobprobe.commands import context, options, rendering
from jobprobe.commands.errors import USAGE_ERROR, fail, guarded
from jobprobe.commands.rendering import emit_json
from jobprobe.queries import sweeps as query_sweeps


@click.command()
@click.argument("tool")
@click.argument("script", type=click.Path(dir_okay=False))
@click.option(
    "--vary", "varies", required=True, multiple=True, metavar="NAME=v1,v2,...",
    help="The parameter to sweep (one per sweep).",
)  # fmt: skip
@click.option("--repeat", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option(
    "--param", "params", multiple=True, metavar="NAME=VALUE", help="A fixed parameter (repeatable)."
)
@options.label_option
@click.option("--slo-p99", type=float, metavar="MS", help="p99 latency objective (ms).")
@click.option("--queue", help="Queue to run on (default: the tool's).")
@click.option("--timeout", type=float, help="Seconds before each job is killed.")
@click.option(
    "--parallel", type=click.IntRange(1, 1000), default=1, show_default=True, metavar="N",
    help="Run N points at once (for independent points); by default one at a time, so a sweep "
    "does not measure its own interference.",
)  # fmt: skip
@click.option("--wait", is_flag=True, help="Follow the sweep until its report is written.")
@click.option(
    "--wait-timeout", type=float, default=3600.0, show_default=True, help="Give up --wait after."
)
@options.json_option
@guarded
def sweep(
    tool: str, script: str, varies: tuple[str, ...], repeat: int, params: tuple[str, ...],
    labels: tuple[str, ...],
    slo_p99: float | None, queue: str | None, timeout: float | None, parallel: int, wait: bool,
    wait_timeout: float, as_json: bool,
) -> None:  # fmt: skip
    """Run SCRIPT once per value of a parameter (and repeat) to find where it stops scaling."""
    from jobprobe.tasks import sweeps

    settings = context.current().settings
    if len(varies) > 1:
        names = ", ".join(v.split("=", 1)[0] for v in varies)
        fail(
            f"--vary given {len(varies)} times ({names}): a sweep varies one parameter; run one "
            "sweep per parameter and fix the others with --param",
            USAGE_ERROR,
        )
    name, values = options.parse_vary(varies[0])
    follow = wait or settings.embedded

    def created(sweep_id: str) -> None:
        # The id first, before the jobs run, so a user can follow or report it from elsewhere;
        # on stderr under --json so that stdout stays one JSON document.
        if follow:
            click.echo(
                f"sweep {sweep_id}: {len(values) * repeat} jobs,"
                f" {'one at a time' if parallel == 1 else f'{parallel} at a time'}",
                err=as_json,
            )

    sweep_id = sweeps.submit_sweep(
        tool, script, vary_name=name, values=values, repeat=repeat,
        params=options.parse_pairs(params, "--param"), labels=options.parse_pairs(labels, "--label"),
        slo_p99_ms=slo_p99, queue=queue, timeout=timeout, parallel=parallel, on_created=created,
        settings=settings,
    )  # fmt: skip
    if not wait and not settings.embedded:
        if as_json:
            emit_json({"sweep_id": sweep_id, "jobs": len(values) * repeat, "status": "queued"})
        else:
            click.echo(
                f"sweep {sweep_id}: {len(values) * repeat} jobs queued"
                f"  (jobprobe sweep-report {sweep_id[:8]})"
            )
        return
    facts = _await_report(sweep_id, wait_timeout)
    if as_json:
        emit_json(facts)
    else:
        rendering.echo_lines(rendering.sweep_lines(facts))


def _await_report(sweep_id: str, timeout: float) -> dict[str, Any]:
    """The sweep's facts once its report for the jobs ended so far is stored (progress on
    stderr); a usage error after ``timeout`` seconds."""
    store = context.current().store
    deadline = time.monotonic() + timeout
    while True:
        facts, report_path = query_sweeps.reported_facts(store, sweep_id)
        if report_path is not None:
            return {**facts, "report_path": report_path}
        if time.monotonic() >= deadline:
            fail(f"sweep {sweep_id[:8]} not reported after {timeout:g} s; check 'jobprobe workers'")
        jobs = facts["jobs"]
        click.echo(f"{jobs['ended']}/{jobs['total']} jobs ended", err=True)
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


THROUGHPUT_METRIC = click.option(
    "--throughput-metric", metavar="NAME",
    help="The jobs' metric that is throughput (default: throughput, rps, qps, tokens_per_s, ...).",
)  # fmt: skip
LATENCY_METRIC = click.option(
    "--latency-metric", metavar="NAME",
    help="The jobs' p99 latency metric, unit from its suffix _ms/_us/_s (default: p99_ms, "
    "p99_latency_ms, latency_p99_ms, p99, ...).",
)  # fmt: skip


@click.command("sweep-report")
@click.argument("sweep_id")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write the curves PNG here.")
@THROUGHPUT_METRIC
@LATENCY_METRIC
@options.json_option
@guarded
def sweep_report(
    sweep_id: str, plot: str | None, throughput_metric: str | None, latency_metric: str | None,
    as_json: bool,
) -> None:  # fmt: skip
    """A sweep's saturation point, latency knee, USL fit, SLO limit and saturating resource."""
    facts = query_sweeps.sweep_report(
        context.current().store, sweep_id, throughput_metric=throughput_metric,
        latency_metric=latency_metric, plot=plot,
    )  # fmt: skip
    if as_json:
        emit_json(facts)
        return
    rendering.echo_lines(rendering.sweep_lines(facts))
    if plot:
        click.echo(f"plot: {facts['plot']}")
