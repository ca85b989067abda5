"""Jobs: submit one, list and aggregate them, read one's details and logs, cancel one, list
the tools. The read commands import the store and nothing of the task layer or Celery."""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import click

from jobprobe.commands import context, options, rendering
from jobprobe.commands.errors import EXIT_FOR_STATUS, fail, guarded
from jobprobe.commands.rendering import emit_json, fmt_num, fmt_when, sparkline, table
from jobprobe.queries import jobs as query_jobs
from jobprobe.queries.filters import JobFilters
from jobprobe.store.status import TERMINAL, JobStatus

if TYPE_CHECKING:
    from jobprobe.worker.settings import Settings


@click.command()
@click.argument("tool")
@click.argument("script", type=click.Path(dir_okay=False))
@options.param_option
@click.option("--params-json", metavar="JSON", help="Parameters as one JSON object.")
@options.label_option
@click.option("--queue", help="Queue to run on (default: the tool's, or gpu when --gpus > 0).")
@click.option("--timeout", type=float, help="Seconds before the job is killed.")
@click.option("--gpus", type=int, help="GPUs the job needs (routes it to the gpu queue).")
@click.option("--mem", metavar="SIZE", help="Memory limit of the job's group (e.g. 512M, 4G).")
@click.option("--cpus", metavar="N", help="CPU quota of the job's group in cores (e.g. 1.5).")
@click.option("--max-procs", metavar="N", help="Most tasks (processes, threads) the job may have.")
@click.option(
    "--no-profile", is_flag=True, help="Do not sample the job (exact CPU/memory totals remain)."
)
@click.option("--wait", is_flag=True, help="Follow the job live and exit with its outcome.")
@options.json_option
@guarded
def submit(
    tool: str, script: str, params: tuple[str, ...], params_json: str | None, labels: tuple[str, ...],
    queue: str | None, timeout: float | None, gpus: int | None, mem: str | None, cpus: str | None,
    max_procs: str | None, no_profile: bool, wait: bool, as_json: bool,
) -> None:  # fmt: skip
    """Run SCRIPT with a registered TOOL (see 'jobprobe tools')."""
    try:  # the task layer's import is most of a submit's time: Ctrl-C there stores nothing
        from jobprobe.tasks import submission
    except KeyboardInterrupt:
        _interrupted(None)

    settings = context.current().settings
    given: dict[str, Any] = dict(
        params=options.parse_params(params, params_json),
        labels=options.parse_pairs(labels, "--label"), queue=queue,
        timeout=options.check_positive(timeout, "--timeout"), gpus=gpus, profile=not no_profile,
        settings=settings, mem=mem, cpus=cpus, max_procs=max_procs,
    )  # fmt: skip
    if settings.embedded:
        job_id = submission.create(tool, script, **given)
        _announce(job_id, "embedded")
        runner = _Runner(job_id, settings)
        runner.start()
    else:
        job_id, runner = _queue(tool, script, given), None
    if not wait and not settings.embedded:
        if as_json:
            emit_json({"task_id": job_id, "status": JobStatus.QUEUED})
        else:
            click.echo(f"queued job {job_id}  (jobprobe job-details {job_id[:8]})")
        return
    if wait or not as_json:
        _follow(job_id, runner)
    if runner is not None:
        runner.finish()
    rec = submission.get_record(job_id, settings=settings)
    if as_json:
        emit_json(rec)
    else:
        rendering.echo_lines(rendering.job_summary(rec))
    # An embedded job has run to its end here, with or without --wait: exit with its outcome.
    raise SystemExit(EXIT_FOR_STATUS.get(rec["status"], 1) if wait or settings.embedded else 0)


def _announce(job_id: str, how: str) -> None:
    """The job's id on stderr as soon as it exists (stdout keeps what scripts parse)."""
    click.echo(f"job {job_id} ({how})", err=True)


def _queue(tool: str, script: str, given: dict[str, Any]) -> str:
    """Store and send a distributed job; Ctrl-C before it exists stores nothing, after it
    says how to follow or cancel it (exit 130, no traceback)."""
    created: list[str] = []

    def on_created(job_id: str) -> None:
        created.append(job_id)
        _announce(job_id, "queued")

    from jobprobe.tasks import submission

    try:
        return submission.submit(
            tool, script, on_created=on_created,
            on_warning=lambda message: click.echo(f"warning: {message}", err=True), **given,
        )  # fmt: skip
    except KeyboardInterrupt:
        _interrupted(created[0] if created else None)


def _interrupted(job_id: str | None) -> NoReturn:
    """Ctrl-C while submitting: what exists, how to follow or cancel it; exit 130."""
    if job_id is None:
        click.echo("\ninterrupted: nothing was submitted", err=True)
    else:
        click.echo(
            f"\ninterrupted: job {job_id} is queued and will run; follow it: "
            f"jobprobe job-details {job_id[:8]}; cancel it: jobprobe cancel {job_id[:8]}",
            err=True,
        )
    raise SystemExit(130)


class _Runner(threading.Thread):
    """An embedded job, run in a thread so the command can show it live and cancel it."""

    def __init__(self, job_id: str, settings: Settings) -> None:
        super().__init__(name=f"job-{job_id[:8]}")
        self.job_id, self.settings = job_id, settings
        self.error: BaseException | None = None

    def run(self) -> None:
        from jobprobe.tasks import submission

        try:
            submission.enqueue(self.job_id, settings=self.settings)
        except BaseException as exc:  # raised again by finish(), in the command's thread
            self.error = exc

    def finish(self) -> None:
        """Wait for the job; raise what running it raised."""
        self.join()
        if self.error is not None:
            raise self.error


def _follow(job_id: str, runner: _Runner | None) -> None:
    """Show a live line until the job ends; Ctrl-C cancels an embedded job, detaches otherwise."""
    invocation = context.current()
    store = invocation.store
    tty = sys.stderr.isatty()
    last_print = 0.0
    try:
        while True:
            # Running: time since the job started; queued: time since it was submitted.
            progress = query_jobs.job_progress(store, job_id)
            status, sample = progress["status"], progress["sample"]
            since = datetime.fromisoformat(progress["since"]) if progress["since"] else None
            if status in TERMINAL and (runner is None or not runner.is_alive()):
                break
            now = time.monotonic()
            elapsed = (datetime.now(UTC) - since).total_seconds() if since else 0.0
            line = rendering.live_line(sample, max(0.0, elapsed), status)
            if tty:
                click.echo("\r" + line.ljust(70), nl=False, err=True)
            elif now - last_print >= 5:
                click.echo(line, err=True)
                last_print = now
            time.sleep(invocation.settings.sample_interval)  # samples land once per interval
    except KeyboardInterrupt:
        if runner is None:
            click.echo(
                f"\ndetached; job {job_id} keeps running (jobprobe cancel {job_id})", err=True
            )
            raise SystemExit(130) from None
        click.echo("\ncancelling...", err=True)
        query_jobs.cancel_job(store, job_id)
        runner.join()
    if tty:
        click.echo("\r" + " " * 72 + "\r", nl=False, err=True)


@click.command("job-history")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--cursor", help="Continue after the last job of a previous page.")
@options.with_filters
@options.json_option
@guarded
def job_history(limit: int, cursor: str | None, filters: JobFilters, as_json: bool) -> None:
    """Jobs, newest first."""
    page = query_jobs.job_history(
        context.current().reading_store, filters, limit=limit, cursor=cursor
    )
    recs, next_cursor = page["jobs"], page["next_cursor"]
    if as_json:
        emit_json(page)
        return
    if not recs:
        click.echo("no jobs match")
        return
    click.echo(table(
        ["ID", "STATUS", "TOOL", "SCRIPT", "QUEUE", "SUBMITTED", "DUR s", "CPU s", "PEAK MB", "LABELS"],
        [(r["task_id"][:8], r["status"], r["tool"], r["script"][:24], r["queue"],
          fmt_when(r["submitted_at"]), fmt_num(r["duration_seconds"], 2),
          fmt_num(r["resource_usage"]["cpu_total_seconds"], 2),
          fmt_num(r["resource_usage"]["memory_peak_mb"], 1),
          ",".join(f"{k}={v}" for k, v in r["labels"].items())) for r in recs],
    ))  # fmt: skip
    if next_cursor:
        click.echo(f"more: --cursor '{next_cursor}'")


@click.command("job-details")
@click.argument("job_id")
@click.option("--timeseries", is_flag=True, help="Include every stored sample.")
@options.json_option
@guarded
def job_details(job_id: str, timeseries: bool, as_json: bool) -> None:
    """Everything about one job: record, profile, status history, reports."""
    store = context.current().reading_store
    rec = query_jobs.job_details(store, job_id, timeseries=timeseries)
    if as_json:
        emit_json(rec)
        return
    series = query_jobs.job_timeseries(store, rec["task_id"])
    rendering.echo_lines(rendering.job_summary(rec))
    click.echo(f"tool/script  {rec['tool']} {rec['script']}  params {json.dumps(rec['params'])}")
    click.echo(
        f"queue        {rec['queue']} on {rec['worker'] or '-'} (attempts {rec['attempts']})"
    )
    click.echo(f"submitted    {fmt_when(rec['submitted_at'])}  waited {fmt_num(rec['queue_wait_seconds'], 2, ' s')}")  # fmt: skip
    if series["t"]:
        cpu = series["proc_cpu_percent"]
        mem_key = (
            "cg_mem_current_mb" if any(series.get("cg_mem_current_mb") or []) else "proc_rss_mb"
        )
        mem, mem_name = (
            series[mem_key],
            "MEM MB group" if mem_key != "proc_rss_mb" else "RSS MB tree",
        )
        click.echo(f"CPU % tree   {sparkline(cpu)}  max {fmt_num(rendering.series_max(cpu), 0)}")
        click.echo(f"{mem_name:<12} {sparkline(mem)}  max {fmt_num(rendering.series_max(mem), 1)}")
        if any(v is not None for v in series["gpu_util_percent"]):
            click.echo(f"GPU %        {sparkline(series['gpu_util_percent'])}")
    click.echo("history:")
    for ev in rec["status_history"]:
        click.echo(f"  {fmt_when(ev['at'])}  {ev['status']:<10} {ev['detail'] or ''}")
    for rep in rec.get("reports") or []:
        click.echo(f"report ({rep['kind']}, {fmt_when(rep['created_at'])}):")
        for line in (rep.get("summary") or "").splitlines():
            click.echo(f"  {line}")
    if timeseries:
        click.echo(f"samples ({len(series['t'])}):")
        click.echo(rendering.sample_table(series))


@click.command("job-stats")
@click.option(
    "--by",
    default="tool",
    show_default=True,
    help="tool, queue, worker, status, source or label:KEY",
)
@options.with_filters
@options.json_option
@guarded
def job_stats(by: str, filters: JobFilters, as_json: bool) -> None:
    """Counts, success rate, duration percentiles, CPU-seconds and peak memory per group."""
    stats = query_jobs.job_stats(context.current().reading_store, filters, by=by)
    rows = stats["groups"]
    if as_json:
        emit_json(stats)
        return
    if not rows:
        click.echo("no jobs match")
        return
    click.echo(table(
        [by.upper(), "JOBS", "OK", "FAILED", "SUCCESS", "DUR p50", "DUR p95", "CPU s", "PEAK MB", "WAIT s"],
        [(r["group"], r["jobs"], r["succeeded"], r["failed"],
          fmt_num(None if r["success_rate"] is None else 100 * r["success_rate"], 1, "%"),
          fmt_num(r["duration_p50_s"], 2), fmt_num(r["duration_p95_s"], 2), fmt_num(r["cpu_seconds"], 1),
          fmt_num(r["memory_peak_max_mb"], 1), fmt_num(r["queue_wait_mean_s"], 2)) for r in rows],
    ))  # fmt: skip


@click.command()
@click.argument("job_id")
@click.option("--stderr", "which", flag_value="stderr", help="Show stderr instead of stdout.")
@click.option("--stdout", "which", flag_value="stdout", default=True, hidden=True)
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the job ends.")
@options.json_option
@guarded
def logs(job_id: str, which: query_jobs.Stream, follow: bool, as_json: bool) -> None:
    """A job's stdout (or --stderr), from its log file where this machine can read it."""
    inv = context.current()
    store = inv.reading_store
    if as_json:
        emit_json(query_jobs.read_log(store, inv.locations, job_id, stream=which))
        return
    source = query_jobs.log_source(store, inv.locations, job_id, stream=which)
    if source.local_path is None:
        if source.status == JobStatus.QUEUED:
            fail(
                f"job {source.task_id[:8]} has not started yet; try again with --follow once it runs"
            )
        click.echo(source.tail or "", nl=False)
        if source.path:
            click.echo(
                f"\n(the last 4 KB stored; the full log is {source.path} on {source.worker})",
                err=True,
            )
        return
    for chunk in query_jobs.follow_log(store, source, follow=follow):
        click.echo(chunk, nl=False)


@click.command()
@click.argument("job_id")
@options.json_option
@guarded
def cancel(job_id: str, as_json: bool) -> None:
    """Cancel a job: a queued one, or one whose worker is gone, now; a running one within a
    second (SIGTERM, grace, SIGKILL)."""
    from jobprobe.store import jobs as store_jobs

    outcome = query_jobs.cancel_job(context.current().store, job_id)
    status, short, lease = outcome.status, outcome.task_id[:8], outcome.lease_expires_at
    if as_json:
        emit_json(outcome.as_dict())
    elif status == JobStatus.CANCELLED:
        click.echo(f"job {short} cancelled")
    elif outcome.ended:
        click.echo(f"job {short} already ended ({status}); nothing to cancel")
    else:
        left = 0.0 if lease is None else (lease - store_jobs.utcnow()).total_seconds()
        click.echo(
            f"job {short} is {status}; its worker stops it within a second (if that "
            f"worker is gone, it is cancelled when its lease expires, in {max(left, 0):.0f} s)"
        )


@click.command()
@options.json_option
@guarded
def tools(as_json: bool) -> None:
    """The registered tools (JOBPROBE_TOOLS_FILE, DATA_DIR/tools.toml or the bundled ones)."""
    registry = query_jobs.tools(context.current().locations)
    if as_json:
        emit_json(registry)
        return
    click.echo(table(
        ["TOOL", "KIND", "RUNS", "QUEUE", "TIMEOUT s", "GPUS", "DESCRIPTION"],
        [(n, t["kind"], (f"{t['image']}: " if t["image"] else "") + " ".join(t["command"]),
          t["queue"] or "-", fmt_num(t["timeout"], 0), t["gpus"], t["description"])
         for n, t in sorted(registry.items())],
    ))  # fmt: skip
