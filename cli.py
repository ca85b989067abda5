"""jobprobe's command line: submit jobs, read their history, details and statistics.

Every command takes ``--json``. Errors are one line on stderr and a non-zero exit.
Run ``jobprobe --help`` (or ``python cli.py --help`` from a checkout).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import click

# Exit codes that follow a job's outcome (submit --wait).
EXIT_FOR_STATUS = {"success": 0, "failed": 1, "lost": 1, "timeout": 124, "cancelled": 130}
USAGE_ERROR = 2


class CliError(click.ClickException):
    """A one-line error for the user (no traceback)."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Stop with one clear line on stderr."""
    err = CliError(message)
    err.exit_code = code
    raise err


# ---------------------------------------------------------------- settings & output


def settings_or_fail() -> Any:
    from jobprobe.worker import errors as worker_errors
    from jobprobe.worker.settings import load_settings

    try:
        return load_settings()
    except worker_errors.SettingsError as exc:
        fail(str(exc), USAGE_ERROR)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def fmt_num(value: Any, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return f"{value}{unit}"


def fmt_when(iso: str | None) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain, aligned text table."""
    body = [[("-" if c is None else str(c)) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in body
    ]
    return "\n".join(lines)


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None], width: int = 60) -> str:
    """A one-line picture of a series (gaps where a value was not measured)."""
    if not values:
        return ""
    step = max(1, len(values) // width)
    buckets = [values[i : i + step] for i in range(0, len(values), step)]
    points = [max((v for v in b if v is not None), default=None) for b in buckets]
    known = [p for p in points if p is not None]
    if not known:
        return "(not measured)"
    lo, hi = min(known), max(known)
    span = (hi - lo) or 1.0
    return "".join(
        " " if p is None else SPARKS[int((p - lo) / span * (len(SPARKS) - 1))] for p in points
    )


def parse_pairs(pairs: Sequence[str], what: str) -> dict[str, Any]:
    """``k=v`` items into a dict; values that parse as JSON numbers/booleans become those."""
    out: dict[str, Any] = {}
    for item in pairs:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            fail(f"malformed {what} {item!r}; write it as NAME=VALUE", USAGE_ERROR)
        value: Any = raw
        if what == "--param":
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw
        out[key] = value
    return out


_RELATIVE = re.compile(r"^(\d+)([smhdw])$")


def parse_since(text: str | None) -> datetime | None:
    """An ISO date/time or a relative span like 30m, 6h, 2d, 1w."""
    if not text:
        return None
    m = _RELATIVE.match(text)
    if m:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(2)]
        return datetime.now(UTC) - timedelta(**{unit: int(m.group(1))})
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        fail(
            f"--since {text!r} is neither a date (2026-11-01) nor a span (30m, 6h, 2d)", USAGE_ERROR
        )
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn jobprobe's own errors into one line and an exit code."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from jobprobe.monitor import errors as monitor_errors
        from jobprobe.store import errors as store_errors
        from jobprobe.tasks import errors as task_errors
        from jobprobe.worker import errors as worker_errors

        try:
            return fn(*args, **kwargs)
        except (
            task_errors.SubmitError,
            worker_errors.SettingsError,
            monitor_errors.ToolError,
        ) as exc:
            fail(str(exc), USAGE_ERROR)
        except (store_errors.JobNotFound, store_errors.AmbiguousJobId) as exc:
            fail(str(exc), USAGE_ERROR)
        except runtime_errors() as exc:
            fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

    return wrapper


def runtime_errors() -> tuple[type[BaseException], ...]:
    """The error roots of jobprobe's packages: shown as one line, never a traceback."""
    from jobprobe.iss_client import errors as iss_errors
    from jobprobe.llm import errors as llm_errors
    from jobprobe.monitor import errors as monitor_errors
    from jobprobe.store import errors as store_errors
    from jobprobe.tasks import errors as task_errors

    return (
        task_errors.TaskError,
        store_errors.StoreError,
        monitor_errors.MonitorError,
        iss_errors.IssError,
        llm_errors.LlmError,
    )


def get_store() -> Any:
    from jobprobe.worker import runtime

    return runtime.get_store(settings_or_fail())


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option("0.1.0", prog_name="jobprobe")
def main() -> None:
    """jobprobe: run simulation and benchmark jobs on Celery workers, profiled every 0.5 s.

    With JOBPROBE_BROKER_URL unset, jobs run in this process and the store is SQLite
    under JOBPROBE_DATA_DIR. Set JOBPROBE_BROKER_URL and JOBPROBE_DATABASE_URL to use workers.
    """


# ---------------------------------------------------------------- submit


def live_line(sample: dict[str, Any] | None, elapsed: float, status: str) -> str:
    parts = [f"{status:<8}", f"{elapsed:7.1f}s"]
    if sample:
        parts.append(f"CPU {fmt_num(sample.get('proc_cpu_percent'), 0, '%'):>6}")
        parts.append(f"RSS {fmt_num(sample.get('proc_rss_mb'), 1, ' MB'):>10}")
        if sample.get("gpu_util_percent") is not None:
            parts.append(f"GPU {fmt_num(sample.get('gpu_util_percent'), 0, '%')}")
    return "  ".join(parts)


def follow_job(job_id: str, runner: threading.Thread | None) -> dict[str, Any]:
    """Show a live line until the job ends; Ctrl-C cancels an embedded job, detaches otherwise."""
    from jobprobe.store import jobs as store_jobs
    from jobprobe.store import samples as store_samples
    from jobprobe.tasks import get_record

    store = get_store()
    tty = sys.stderr.isatty()
    t0 = time.monotonic()
    last_print = 0.0
    try:
        while True:
            with store.session() as session:
                job = store_jobs.get_job(session, job_id)
                status = job.status
                sample = (
                    store_samples.latest_sample(session, job_id) if status == "running" else None
                )
            if status in store_jobs.TERMINAL and (runner is None or not runner.is_alive()):
                break
            now = time.monotonic()
            if tty:
                click.echo("\r" + live_line(sample, now - t0, status).ljust(70), nl=False, err=True)
            elif now - last_print >= 5:
                click.echo(live_line(sample, now - t0, status), err=True)
                last_print = now
            time.sleep(0.5)
    except KeyboardInterrupt:
        if runner is None:
            click.echo(
                f"\ndetached; job {job_id} keeps running (jobprobe cancel {job_id})", err=True
            )
            raise SystemExit(130) from None
        click.echo("\ncancelling...", err=True)
        with store.session() as session:
            store_jobs.request_cancel(session, job_id)
        runner.join()
    if tty:
        click.echo("\r" + " " * 72 + "\r", nl=False, err=True)
    return get_record(job_id)


def print_summary(rec: dict[str, Any]) -> None:
    ru = rec["resource_usage"]
    prof = rec.get("detailed_profile") or {}
    pc = prof.get("process_cpu") or {}
    io = prof.get("io_stats") or {}
    rows = [
        ("job", rec["task_id"]),
        ("status", f"{rec['status']} (exit code {fmt_num(rec['returncode'])})"),
        ("duration", fmt_num(rec["duration_seconds"], 2, " s")),
        (
            "CPU time",
            f"{fmt_num(ru['cpu_total_seconds'], 2, ' s')} "
            f"(user {fmt_num(ru['cpu_user_seconds'], 2)}, system {fmt_num(ru['cpu_system_seconds'], 2)})",
        ),
        ("peak memory", fmt_num(ru["memory_peak_mb"], 1, " MB")),
        (
            "CPU % (tree)",
            f"mean {fmt_num(pc.get('mean_percent'), 0)}  max {fmt_num(pc.get('max_percent'), 0)}",
        ),
        (
            "I/O",
            f"read {fmt_num(io.get('read_mb'), 2, ' MB')}  write {fmt_num(io.get('write_mb'), 2, ' MB')}",
        ),
        (
            "samples",
            f"{fmt_num(prof.get('samples_collected'))} every {fmt_num(prof.get('sampling_interval_seconds'), 2, ' s')}",
        ),
    ]
    for gpu in (prof.get("gpu_stats") or {}).get("nvidia", []):
        rows.append(
            (
                f"GPU {gpu.get('index')}",
                f"util mean {fmt_num(gpu.get('mean_util_percent'), 0, '%')}  energy {fmt_num(gpu.get('energy_j'), 0, ' J')}",
            )
        )
    if rec.get("metrics"):
        rows.append(("metrics", json.dumps(rec["metrics"])))
    for name, reason in (prof.get("unavailable") or {}).items():
        rows.append((f"no {name}", reason))
    if rec.get("error"):
        rows.append(("error", rec["error"]))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key:<{width}}  {value}")
    tail = (rec["logs"].get("stdout_tail") or "").rstrip().splitlines()[-5:]
    if tail:
        click.echo("stdout (last lines):")
        for line in tail:
            click.echo(f"  {line}")


@main.command()
@click.argument("tool")
@click.argument("script", type=click.Path(dir_okay=False))
@click.option(
    "--param", "params", multiple=True, metavar="NAME=VALUE", help="A job parameter (repeatable)."
)
@click.option("--params-json", metavar="JSON", help="Parameters as one JSON object.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="A label (repeatable).")
@click.option("--queue", help="Queue to run on (default: the tool's, or gpu when --gpus > 0).")
@click.option("--timeout", type=float, help="Seconds before the job is killed.")
@click.option("--gpus", type=int, help="GPUs the job needs (routes it to the gpu queue).")
@click.option(
    "--no-profile", is_flag=True, help="Do not sample the job (exact CPU/memory totals remain)."
)
@click.option("--wait", is_flag=True, help="Follow the job live and exit with its outcome.")
@json_option
@guarded
def submit(
    tool: str, script: str, params: tuple[str, ...], params_json: str | None, labels: tuple[str, ...],
    queue: str | None, timeout: float | None, gpus: int | None, no_profile: bool, wait: bool, as_json: bool,
) -> None:  # fmt: skip
    """Run SCRIPT with a registered TOOL (see 'jobprobe tools')."""
    from jobprobe.tasks import submission

    settings = settings_or_fail()
    merged: dict[str, Any] = {}
    if params_json:
        try:
            loaded = json.loads(params_json)
        except ValueError as exc:
            fail(f"--params-json is not valid JSON: {exc}", USAGE_ERROR)
        if not isinstance(loaded, dict):
            fail("--params-json must be a JSON object", USAGE_ERROR)
        merged.update(loaded)
    merged.update(parse_pairs(params, "--param"))
    if timeout is not None and timeout <= 0:
        fail(f"--timeout must be a positive number of seconds (got {timeout:g})", USAGE_ERROR)
    job_id = submission.create(
        tool, script, params=merged, labels=parse_pairs(labels, "--label"), queue=queue,
        timeout=timeout, gpus=gpus, profile=not no_profile, settings=settings,
    )  # fmt: skip
    if not wait and not settings.embedded:
        submission.enqueue(job_id, settings=settings)
        if as_json:
            emit_json({"task_id": job_id, "status": "queued"})
        else:
            click.echo(f"queued job {job_id}  (jobprobe job-details {job_id[:8]})")
        return
    runner = None
    if settings.embedded:
        errors: list[BaseException] = []

        def run() -> None:
            try:
                submission.enqueue(job_id, settings=settings)
            except BaseException as exc:  # surfaced after the thread ends
                errors.append(exc)

        runner = threading.Thread(target=run, name=f"job-{job_id[:8]}")
        runner.start()
    else:
        submission.enqueue(job_id, settings=settings)
    if not as_json:
        click.echo(f"job {job_id} ({'embedded' if settings.embedded else 'queued'})", err=True)
    rec = follow_job(job_id, runner) if (wait or not as_json) else _join(runner, job_id)
    if as_json:
        emit_json(rec)
    else:
        print_summary(rec)
    raise SystemExit(EXIT_FOR_STATUS.get(rec["status"], 1) if wait else 0)


def _join(runner: threading.Thread | None, job_id: str) -> dict[str, Any]:
    from jobprobe.tasks import get_record

    if runner is not None:
        runner.join()
    return get_record(job_id)


# ---------------------------------------------------------------- reading jobs


def history_filters(
    status: str | None, tool: str | None, labels: Sequence[str], since: str | None,
    queue: str | None = None, source: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    from jobprobe.store.jobs import STATUSES

    if status and status not in STATUSES:
        fail(f"unknown --status {status!r}; use one of {', '.join(STATUSES)}", USAGE_ERROR)
    return {
        "status": status, "tool": tool, "labels": parse_pairs(labels, "--label"),
        "since": parse_since(since), "queue": queue, "source": source,
    }  # fmt: skip


filter_options = [
    click.option("--status", help="Only jobs with this status."),
    click.option("--tool", help="Only jobs of this tool."),
    click.option(
        "--label", "labels", multiple=True, metavar="KEY=VALUE", help="Only jobs with this label."
    ),
    click.option("--since", help="Only jobs submitted since (2026-11-01, 6h, 2d)."),
    click.option("--queue", help="Only jobs of this queue."),
    click.option("--source", type=click.Choice(["local", "iss"]), help="Local jobs or ISS jobs."),
]


def with_filters(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(filter_options):
        fn = option(fn)
    return fn


@main.command("job-history")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--cursor", help="Continue after the last job of a previous page.")
@with_filters
@json_option
@guarded
def job_history(limit: int, cursor: str | None, status: str | None, tool: str | None,
                labels: tuple[str, ...], since: str | None, queue: str | None, source: str | None,
                as_json: bool) -> None:  # fmt: skip
    """Jobs, newest first."""
    from jobprobe.store import jobs as store_jobs
    from jobprobe.store import records

    filters = history_filters(status, tool, labels, since, queue, source)
    with get_store().session() as session:
        jobs = store_jobs.job_history(session, limit=limit, cursor=cursor, **filters)
        recs = [records.to_record(j) for j in jobs]
        next_cursor = store_jobs.encode_cursor(jobs[-1]) if len(jobs) == limit else None
    if as_json:
        emit_json({"jobs": recs, "next_cursor": next_cursor})
        return
    if not recs:
        click.echo("no jobs match")
        return
    rows = [
        (
            r["task_id"][:8], r["status"], r["tool"], r["script"][:24], r["queue"], fmt_when(r["submitted_at"]),
            fmt_num(r["duration_seconds"], 2), fmt_num(r["resource_usage"]["cpu_total_seconds"], 2),
            fmt_num(r["resource_usage"]["memory_peak_mb"], 1),
            ",".join(f"{k}={v}" for k, v in r["labels"].items()),
        )
        for r in recs
    ]  # fmt: skip
    click.echo(
        table(
            [
                "ID",
                "STATUS",
                "TOOL",
                "SCRIPT",
                "QUEUE",
                "SUBMITTED",
                "DUR s",
                "CPU s",
                "PEAK MB",
                "LABELS",
            ],
            rows,
        )
    )
    if next_cursor:
        click.echo(f"more: --cursor '{next_cursor}'")


@main.command("job-details")
@click.argument("job_id")
@click.option("--timeseries", is_flag=True, help="Include every stored sample.")
@json_option
@guarded
def job_details(job_id: str, timeseries: bool, as_json: bool) -> None:
    """Everything about one job: record, profile, status history, reports."""
    from jobprobe.store import jobs as store_jobs
    from jobprobe.store import records
    from jobprobe.store import reports as store_reports
    from jobprobe.store import samples as store_samples

    with get_store().session() as session:
        job = store_jobs.get_job(session, job_id)
        series = store_samples.load_timeseries(session, job.id)
        rec = records.to_record(
            job, events=store_jobs.status_history(session, job.id),
            timeseries=series if timeseries else None,
            reports=store_reports.reports_for_job(session, job.id),
        )  # fmt: skip
    if as_json:
        emit_json(rec)
        return
    print_summary(rec)
    click.echo(f"tool/script  {rec['tool']} {rec['script']}  params {json.dumps(rec['params'])}")
    click.echo(
        f"queue        {rec['queue']} on {rec['worker'] or '-'} (attempts {rec['attempts']})"
    )
    click.echo(
        f"submitted    {fmt_when(rec['submitted_at'])}  waited {fmt_num(rec['queue_wait_seconds'], 2, ' s')}"
    )
    if series["t"]:
        click.echo(
            f"CPU % tree   {sparkline(series['proc_cpu_percent'])}  max {fmt_num(_max(series['proc_cpu_percent']), 0)}"
        )
        click.echo(
            f"RSS MB tree  {sparkline(series['proc_rss_mb'])}  max {fmt_num(_max(series['proc_rss_mb']), 1)}"
        )
        if any(v is not None for v in series["gpu_util_percent"]):
            click.echo(f"GPU %        {sparkline(series['gpu_util_percent'])}")
    click.echo("history:")
    for ev in rec["status_history"]:
        click.echo(f"  {fmt_when(ev['at'])}  {ev['status']:<10} {ev['detail'] or ''}")
    for rep in rec.get("reports") or []:
        click.echo(f"report ({rep['kind']}, {fmt_when(rep['created_at'])}):")
        for line in (rep.get("summary") or "").splitlines():
            click.echo(f"  {line}")


def _max(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


@main.command("job-stats")
@click.option(
    "--by",
    default="tool",
    show_default=True,
    help="tool, queue, worker, status, source or label:KEY",
)
@with_filters
@json_option
@guarded
def job_stats(by: str, status: str | None, tool: str | None, labels: tuple[str, ...], since: str | None,
              queue: str | None, source: str | None, as_json: bool) -> None:  # fmt: skip
    """Counts, success rate, duration percentiles, CPU-seconds and peak memory per group."""
    from jobprobe.store import jobs as store_jobs

    filters = history_filters(status, tool, labels, since, queue, source)
    with get_store().session() as session:
        rows = store_jobs.job_stats(session, by=by, **filters)
    if as_json:
        emit_json({"by": by, "groups": rows})
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


@main.command()
@click.argument("job_id")
@click.option("--stderr", "which", flag_value="stderr", help="Show stderr instead of stdout.")
@click.option("--stdout", "which", flag_value="stdout", default=True, hidden=True)
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the job ends.")
@json_option
@guarded
def logs(job_id: str, which: str, follow: bool, as_json: bool) -> None:
    """A job's stdout (or --stderr), from its log file where this machine can read it."""
    from jobprobe.store import jobs as store_jobs

    store = get_store()
    with store.session() as session:
        job = store_jobs.get_job(session, job_id)
        path = job.stdout_path if which == "stdout" else job.stderr_path
        tail = job.stdout_tail if which == "stdout" else job.stderr_tail
        workdir, status, worker = job.workdir, job.status, job.worker
        full_id = job.id
    if path is None and workdir is None and status == "running":
        from jobprobe.worker.settings import load_settings

        attempt_dirs = sorted((load_settings().data_dir / "jobs" / full_id).glob("attempt-*"))
        path = str(attempt_dirs[-1] / f"{which}.log") if attempt_dirs else None
    local = Path(path) if path else None
    if as_json:
        text = local.read_text(errors="replace") if local and local.is_file() else (tail or "")
        emit_json(
            {
                "task_id": full_id,
                "stream": which,
                "path": path,
                "local": bool(local and local.is_file()),
                "text": text,
            }
        )
        return
    if local is None or not local.is_file():
        if status == "queued":
            fail(f"job {full_id[:8]} has not started yet; try again with --follow once it runs")
        click.echo(tail or "", nl=False)
        if path:
            click.echo(f"\n(the last 4 KB stored; the full log is {path} on {worker})", err=True)
        return
    offset = 0
    while True:
        with local.open("rb") as fh:
            fh.seek(offset)
            chunk = fh.read()
            offset += len(chunk)
        if chunk:
            click.echo(chunk.decode("utf-8", "replace"), nl=False)
        if not follow:
            return
        with store.session() as session:
            if store_jobs.get_job(session, full_id).status in store_jobs.TERMINAL:
                follow = False  # one more read picks up the last bytes
                continue
        time.sleep(0.5)


@main.command()
@click.argument("job_id")
@json_option
@guarded
def cancel(job_id: str, as_json: bool) -> None:
    """Cancel a job: a queued one now, a running one within a second (SIGTERM, grace, SIGKILL)."""
    from jobprobe.store import jobs as store_jobs

    with get_store().session() as session:
        job = store_jobs.request_cancel(session, job_id)
        status, full_id = job.status, job.id
    if as_json:
        emit_json(
            {
                "task_id": full_id,
                "status": status,
                "cancel_requested": status not in store_jobs.TERMINAL or status == "cancelled",
            }
        )
        return
    if status == "cancelled":
        click.echo(f"job {full_id[:8]} cancelled")
    elif status in store_jobs.TERMINAL:
        click.echo(f"job {full_id[:8]} already ended ({status}); nothing to cancel")
    else:
        click.echo(f"job {full_id[:8]} is {status}; it will be stopped within a second")


@main.command()
@json_option
@guarded
def tools(as_json: bool) -> None:
    """The registered tools (JOBPROBE_TOOLS_FILE, DATA_DIR/tools.toml or the bundled ones)."""
    from jobprobe.monitor.tools import load_registry

    settings = settings_or_fail()
    registry = load_registry(settings.resolved_tools_file)
    if as_json:
        emit_json({name: {"kind": t.kind, "command": list(t.command), "image": t.image, "queue": t.queue,
                          "timeout": t.timeout, "gpus": t.gpus, "description": t.description}
                   for name, t in registry.items()})  # fmt: skip
        return
    click.echo(table(
        ["TOOL", "KIND", "RUNS", "QUEUE", "TIMEOUT s", "GPUS", "DESCRIPTION"],
        [(n, t.kind, (f"{t.image}: " if t.image else "") + " ".join(t.command), t.queue or "-",
          fmt_num(t.timeout, 0), t.gpus, t.description) for n, t in sorted(registry.items())],
    ))  # fmt: skip


@main.command()
@click.option(
    "--timeout", type=float, default=2.0, show_default=True, help="Seconds to wait for replies."
)
@json_option
@guarded
def workers(timeout: float, as_json: bool) -> None:
    """Workers that answer on the broker, with their queues and active jobs."""
    from jobprobe.worker.app import create_app

    settings = settings_or_fail()
    if settings.embedded:
        msg = "embedded mode (JOBPROBE_BROKER_URL unset): jobs run inside the jobprobe command, no workers"
        emit_json({"mode": "embedded", "workers": []}) if as_json else click.echo(msg)
        return
    app = create_app(settings)
    try:
        inspect = app.control.inspect(timeout=timeout)
        stats = inspect.stats() or {}
        queues = inspect.active_queues() or {}
        active = inspect.active() or {}
    except Exception as exc:  # kombu raises transport errors when the broker is down
        fail(
            f"cannot reach the broker {settings.broker_url} ({exc}); start it or fix JOBPROBE_BROKER_URL"
        )
    rows = []
    for name in sorted(stats):
        st = stats[name]
        rows.append({
            "worker": name,
            "queues": sorted(q["name"] for q in queues.get(name, [])),
            "active": len(active.get(name, [])),
            "concurrency": (st.get("pool") or {}).get("max-concurrency"),
            "processed": sum((st.get("total") or {}).values()),
        })  # fmt: skip
    if as_json:
        emit_json({"mode": "distributed", "workers": rows})
        return
    if not rows:
        click.echo(
            f"no worker answered within {timeout:g} s (start one: celery -A jobprobe.worker.app worker -Q cpu,gpu,iss,analysis)"
        )
        return
    click.echo(table(["WORKER", "QUEUES", "ACTIVE", "CONCURRENCY", "PROCESSED"],
                     [(r["worker"], ",".join(r["queues"]), r["active"], r["concurrency"], r["processed"]) for r in rows]))  # fmt: skip


# ---------------------------------------------------------------- ISS commands (iss group)


def iss_setup() -> tuple[Any, Any]:
    """(settings, IssClient); an unconfigured ISS is one line and exit 2."""
    from jobprobe.tasks import iss as iss_tasks

    settings = settings_or_fail()
    try:
        return settings, iss_tasks.make_client(settings)
    except iss_tasks.IssNotConfigured as exc:
        fail(str(exc), USAGE_ERROR)


def iss_kind(job_type: str) -> str:
    """The schema/file kind (iwps, isim, coho) for a kind or a job type."""
    from jobprobe.iss_client import FILE_KINDS
    from jobprobe.tasks import iss as iss_tasks

    if job_type.lower() in FILE_KINDS:
        return job_type.lower()
    return iss_tasks.KIND_BY_TYPE.get(job_type, job_type.lower())


def iss_job_row(raw: dict[str, Any]) -> tuple[Any, ...]:
    meta = raw.get("Metadata") or {}
    return (
        raw.get("JobRequestID"),
        raw.get("JobRequestStatus"),
        raw.get("Type"),
        raw.get("PlatformName"),
        str(raw.get("Name") or "")[:28],
        meta.get("RequestedBy"),
        fmt_when(meta.get("RequestedOn")),
        fmt_when(meta.get("LastUpdatedOn")),
    )


ISS_JOB_HEADERS = ["JOB", "ISS STATUS", "TYPE", "PLATFORM", "NAME", "BY", "REQUESTED", "UPDATED"]


@main.group()
def iss() -> None:
    """Intel Simulation Service: platforms, jobs, schemas and files; track ISS jobs in the store.

    Configure with JOBPROBE_ISS_API_URL, JOBPROBE_ISS_TOKEN_URL and JOBPROBE_ISS_CLIENT_ID /
    JOBPROBE_ISS_CLIENT_SECRET (or ISS_API_URL, AUTH_DOMAIN, CLIENT_ID, CLIENT_SECRET, or
    CLIENT_SECRET_NAME with the AWS_*_ISS keys).
    """


@iss.command("platforms")
@json_option
@guarded
def iss_platforms(as_json: bool) -> None:
    """Platforms ISS offers."""
    _, client = iss_setup()
    with client:
        platforms = [p.raw() for p in client.list_platforms()]
    if as_json:
        emit_json({"platforms": platforms})
        return
    rows = [
        (p.get("PlatformID"), p.get("PlatformName"), p.get("PlatformType"), p.get("Cores"),
         p.get("MemorySize"), ", ".join(map(str, p.get("Features") or [])))
        for p in platforms
    ]  # fmt: skip
    click.echo(table(["ID", "NAME", "TYPE", "CORES", "MEMORY", "FEATURES"], rows))


@iss.command("platform")
@click.argument("platform_id")
@json_option
@guarded
def iss_platform(platform_id: str, as_json: bool) -> None:
    """One platform by PlatformID (or name)."""
    _, client = iss_setup()
    with client:
        platform = client.get_platform(platform_id).raw()
    if as_json:
        emit_json(platform)
        return
    for key, value in platform.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        click.echo(f"{key + ':':<14} {value}")


@iss.command("jobs")
@click.option("--status", help="Only jobs in this ISS status (e.g. inprogress).")
@click.option("--type", "job_type", help="Only jobs of this type (e.g. IWPS).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@json_option
@guarded
def iss_jobs(status: str | None, job_type: str | None, limit: int, as_json: bool) -> None:
    """Jobs on ISS (newest pages first, as ISS lists them)."""
    from itertools import islice

    _, client = iss_setup()
    filters = {k: v for k, v in {"status": status, "job_type": job_type}.items() if v}
    with client:
        found = islice(client.iter_jobs(page_size=min(limit, 100), **filters), limit)
        jobs = [j.raw() for j in found]
    if as_json:
        emit_json({"jobs": jobs})
        return
    if not jobs:
        click.echo("no ISS jobs match")
        return
    click.echo(table(ISS_JOB_HEADERS, [iss_job_row(j) for j in jobs]))


@iss.command("job")
@click.argument("job_id")
@json_option
@guarded
def iss_job(job_id: str, as_json: bool) -> None:
    """One ISS job with its details and status history."""
    _, client = iss_setup()
    with client:
        raw = client.get_job(job_id).raw()
    if as_json:
        emit_json(raw)
        return
    meta = raw.get("Metadata") or {}
    click.echo(
        f"{raw.get('JobRequestID')}  {raw.get('Name')}  ({raw.get('Type')} on {raw.get('PlatformName')})"
    )
    click.echo(
        f"status:    {raw.get('JobRequestStatus')}: {raw.get('JobRequestStatusDetails') or ''}"
    )
    click.echo(f"requested: {fmt_when(meta.get('RequestedOn'))} by {meta.get('RequestedBy')}")
    click.echo(f"updated:   {fmt_when(meta.get('LastUpdatedOn'))} by {meta.get('LastUpdatedBy')}")
    for step in raw.get("SubStates") or []:
        if isinstance(step, dict):
            click.echo(f"  {fmt_when(step.get('EnteredOn'))}  {step.get('State')}")  # fmt: skip


@iss.command("schema")
@click.argument("job_type")
@click.argument("platform")
@json_option
@guarded
def iss_schema(job_type: str, platform: str, as_json: bool) -> None:
    """The parameter schema of a job kind (iwps, isim, coho, or a job type) on a platform."""
    _, client = iss_setup()
    with client:
        schema = client.get_schema(iss_kind(job_type), platform)
    emit_json(schema)


@iss.command("files")
@click.argument("job_id")
@click.option("--kind", help="File-service kind (iwps, isim, coho). Default: from the job.")
@click.option(
    "--download", "dest", type=click.Path(file_okay=False, path_type=Path),
    help="Download every artifact into this folder (byte for byte).",
)  # fmt: skip
@json_option
@guarded
def iss_files(job_id: str, kind: str | None, dest: Path | None, as_json: bool) -> None:
    """A job's artifacts; --download DIR fetches them."""
    from jobprobe.tasks import iss as iss_tasks

    _, client = iss_setup()
    downloaded: list[dict[str, Any]] = []
    with client:
        kind = iss_kind(kind) if kind else iss_tasks.artifact_kind(client.get_job(job_id).raw())
        files = [f for f in client.list_files(job_id, kind).files if not f.is_dir]
        if dest is not None:
            dest.mkdir(parents=True, exist_ok=True)
            for f in files:
                rel = f.path or f.name
                target = dest / Path(rel).name
                size = client.download_file(job_id, kind, rel, target)
                downloaded.append({"name": f.name, "path": str(target), "size": size})
    listing = [{"name": f.name, "path": f.path, "size": f.size, "type": f.type} for f in files]
    if as_json:
        emit_json({"job": job_id, "kind": kind, "files": listing, "downloaded": downloaded})
        return
    if not listing:
        click.echo(f"no artifacts for {job_id} ({kind}) yet")
        return
    click.echo(
        table(["NAME", "SIZE", "TYPE"], [(f["name"], f["size"], f["type"]) for f in listing])
    )
    for d in downloaded:
        click.echo(f"saved {d['path']} ({d['size']} bytes)")


def iss_follow(
    store: Any, job_id: str, *, until: Callable[[], bool], timeout: float, interval: float
) -> bool:
    """Print the job's new status events until ``until()`` or ``timeout``; True if it ended."""
    from jobprobe.store import jobs as store_jobs

    deadline = time.monotonic() + timeout
    shown = 0
    while True:
        ended = until()
        with store.session() as session:
            events = store_jobs.status_history(session, job_id)
            lines = [f"{e.status:<8} {e.detail or ''}" for e in events[shown:]]
        shown += len(lines)
        for line in lines:
            click.echo(line, err=True)
        if ended:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


@iss.command("track")
@click.argument("job_id")
@click.option(
    "--wait/--no-wait", default=None, help="Follow until the job ends (default: in embedded mode)."
)
@click.option(
    "--timeout", type=float, help="Seconds to follow (default: JOBPROBE_ISS_TRACK_DEADLINE)."
)
@json_option
@guarded
def iss_track(job_id: str, wait: bool | None, timeout: float | None, as_json: bool) -> None:
    """Mirror an ISS job into the store and follow it to its end.

    With workers, a poll task follows it (every JOBPROBE_ISS_POLL_INTERVAL seconds); in embedded
    mode this command polls in the foreground. Its history, stats and details then cover the job.
    """
    from jobprobe.tasks import get_record
    from jobprobe.tasks import iss as iss_tasks
    from jobprobe.worker.app import create_app

    settings, client = iss_setup()
    store = get_store()
    app = create_app(settings)
    wait = settings.embedded if wait is None else wait
    timeout = settings.iss_track_deadline if timeout is None else timeout
    started = time.monotonic()
    with client:
        external_id = iss_tasks.resolve_external_id(store, job_id)
        outcome = iss_tasks.poll_once(client, store, external_id, queue=settings.queue_iss)
        tracking = "done" if outcome.settled else "stored once (not followed)"
        if not outcome.settled and not settings.embedded:
            iss_tasks.mark_tracked(store, external_id)
            iss_tasks.poll_iss_job.apply_async(
                args=[external_id, datetime.now(UTC).isoformat(), 0],
                countdown=settings.iss_poll_interval,
            )
            tracking = "queued"
            if wait:
                ended = iss_follow(
                    store, outcome.job_id, timeout=timeout, interval=min(settings.iss_poll_interval, 2.0),
                    until=lambda: not iss_tasks.is_tracked(store, external_id, stale_after_s=timeout + 3600),
                )  # fmt: skip
                tracking = "done" if ended else "still tracked by the workers"
        elif not outcome.settled and wait:
            done_polls = 0

            def settled() -> bool:
                nonlocal outcome, done_polls
                if time.monotonic() - started >= timeout:
                    return False
                outcome = iss_tasks.poll_once(
                    client, store, external_id, queue=settings.queue_iss, done_polls=done_polls
                )
                done_polls += (outcome.iss_status or "").lower() == "done"
                return outcome.settled

            ended = iss_follow(store, outcome.job_id, timeout=timeout, interval=settings.iss_poll_interval, until=settled)  # fmt: skip
            if not ended:
                iss_tasks.give_up(
                    store, outcome.job_id, after_s=timeout, iss_status=outcome.iss_status
                )
            tracking = "done" if ended else "gave up"
        if outcome.settled:
            from jobprobe.tasks.follow_up import queue_analysis

            app.loader.import_default_modules()  # registers the analysis task, if installed
            queue_analysis(outcome.job_id)
    rec = get_record(outcome.job_id, settings=settings)
    rec["tracking"] = tracking
    if as_json:
        emit_json(rec)
        return
    raw = rec.get("raw") or {}
    click.echo(
        f"ISS job {external_id} -> job {rec['task_id'][:8]}: {rec['status']} "
        f"(ISS {raw.get('JobRequestStatus')}), tracking {tracking}"
    )
    for f in rec["artifacts"]:
        click.echo(f"  artifact {f.get('name')} ({fmt_num(f.get('size'))} bytes)")


@iss.command("sync")
@json_option
@guarded
def iss_sync(as_json: bool) -> None:
    """Mirror ISS jobs changed since the last sync into the store (beat does this on a schedule)."""
    from jobprobe.tasks import iss as iss_tasks
    from jobprobe.worker.app import create_app

    settings, client = iss_setup()
    store = get_store()
    create_app(settings)
    with client:
        counts, to_track = iss_tasks.sync_jobs(
            client, store, queue=settings.queue_iss, stale_after_s=iss_tasks.stale_after(settings)
        )
    result: dict[str, Any] = {
        **counts,
        "tracking": iss_tasks.start_tracking(store, to_track, settings),
    }
    if as_json:
        emit_json(result)
        return
    click.echo(
        f"{result['seen']} ISS jobs seen: {result['created']} new, {result['updated']} updated, "
        f"{result['unchanged']} unchanged, {result['skipped']} not changed since the last sync; "
        f"{result['tracking']} now tracked by workers"
    )


# ---------------------------------------------------------------- analysis commands


def _values_of(text: str) -> tuple[str, list[Any]]:
    """``NAME=v1,v2,...`` into (NAME, [values]); values parse as JSON numbers where they can."""
    name, sep, raw = text.partition("=")
    if not sep or not name or not raw:
        fail(f"malformed --vary {text!r}; write it as NAME=v1,v2,...", USAGE_ERROR)
    values: list[Any] = []
    for item in raw.split(","):
        try:
            values.append(json.loads(item))
        except ValueError:
            values.append(item)
    return name, values


def _sweep_lines(facts: dict[str, Any]) -> list[str]:
    """The human form of a sweep report: a table of loads, a sparkline and the findings."""
    from jobprobe.analysis import report as report_mod

    points = facts.get("points") or []
    lines = [
        f"sweep {facts['sweep_id']}  {facts['tool']} {facts['script']}  vary {facts['vary']}"
        f"  ({facts['jobs']['ended']}/{facts['jobs']['total']} jobs ended,"
        f" {facts['jobs']['succeeded']} succeeded)",
        table(
            [facts["vary"].upper(), "RUNS", "THROUGHPUT", "P50 ms", "P99 ms"],
            [
                (
                    f"{p['value']:g}",
                    p["repeats"],
                    fmt_num(p["throughput"], 1),
                    fmt_num(p["p50_ms"], 2),
                    fmt_num(p["p99_ms"], 2),
                )
                for p in points
            ],
        ),
    ]
    if points:
        lines.append(f"throughput  {sparkline([p['throughput'] for p in points])}")
        lines.append(f"p99 ms      {sparkline([p['p99_ms'] for p in points])}")
    body = report_mod.render_markdown({**facts, "subject": "sweep"}).splitlines()
    lines += [line for line in body if line.startswith("- ")]
    return lines


@main.command()
@click.argument("tool")
@click.argument("script", type=click.Path(dir_okay=False))
@click.option("--vary", required=True, metavar="NAME=v1,v2,...", help="The parameter to sweep.")
@click.option("--repeat", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option(
    "--param", "params", multiple=True, metavar="NAME=VALUE", help="A fixed parameter (repeatable)."
)
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="A label (repeatable).")
@click.option("--slo-p99", type=float, metavar="MS", help="p99 latency objective (ms).")
@click.option("--queue", help="Queue to run on (default: the tool's).")
@click.option("--timeout", type=float, help="Seconds before each job is killed.")
@click.option("--wait", is_flag=True, help="Follow the sweep until its report is written.")
@click.option(
    "--wait-timeout", type=float, default=3600.0, show_default=True, help="Give up --wait after."
)
@json_option
@guarded
def sweep(
    tool: str, script: str, vary: str, repeat: int, params: tuple[str, ...], labels: tuple[str, ...],
    slo_p99: float | None, queue: str | None, timeout: float | None, wait: bool, wait_timeout: float,
    as_json: bool,
) -> None:  # fmt: skip
    """Run SCRIPT once per value of a parameter (and repeat) to find where it stops scaling."""
    from jobprobe.tasks import sweeps

    settings = settings_or_fail()
    name, values = _values_of(vary)
    sweep_id = sweeps.submit_sweep(
        tool, script, vary_name=name, values=values, repeat=repeat,
        params=parse_pairs(params, "--param"), labels=parse_pairs(labels, "--label"),
        slo_p99_ms=slo_p99, queue=queue, timeout=timeout, settings=settings,
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
    facts = _await_sweep(sweep_id, wait_timeout)
    if as_json:
        emit_json(facts)
    else:
        click.echo("\n".join(_sweep_lines(facts)))


def _await_sweep(sweep_id: str, timeout: float) -> dict[str, Any]:
    """Poll the store until the sweep report is written (or ``timeout`` seconds pass)."""
    from jobprobe.store import sweeps as store_sweeps
    from jobprobe.tasks import analysis

    store = get_store()
    deadline = time.monotonic() + timeout
    while True:
        with store.session() as session:
            sweep_ = store_sweeps.get_sweep(session, sweep_id)
            stored = store_sweeps.latest_report(session, kind="sweep", sweep_id=sweep_.id)
            facts = analysis.sweep_analysis(session, sweep_)
        if stored is not None and stored.body.get("jobs_fingerprint") == facts["jobs_fingerprint"]:
            facts["report_path"] = stored.path
            return facts
        if time.monotonic() >= deadline:
            fail(f"sweep {sweep_id[:8]} not reported after {timeout:g} s; check 'jobprobe workers'")
        jobs = facts["jobs"]
        click.echo(f"{jobs['ended']}/{jobs['total']} jobs ended", err=True)
        time.sleep(1.0)


@main.command("sweep-report")
@click.argument("sweep_id")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write the curves PNG here.")
@json_option
@guarded
def sweep_report(sweep_id: str, plot: str | None, as_json: bool) -> None:
    """A sweep's saturation point, latency knee, USL fit, SLO limit and saturating resource."""
    from jobprobe.analysis import plots
    from jobprobe.store import sweeps as store_sweeps
    from jobprobe.tasks import analysis

    with get_store().session() as session:
        sweep_ = store_sweeps.get_sweep(session, sweep_id)
        facts = analysis.sweep_analysis(session, sweep_)
        stored = store_sweeps.latest_report(session, kind="sweep", sweep_id=sweep_.id)
        facts["report_path"] = stored.path if stored is not None else None
    if plot:
        facts["plot"] = str(plots.plot_sweep(facts, plot))
    if as_json:
        emit_json(facts)
        return
    click.echo("\n".join(_sweep_lines(facts)))
    if plot:
        click.echo(f"plot: {facts['plot']}")


THRESHOLD_FIELDS = {
    "duration": "duration_pct", "memory": "memory_pct", "cost": "cost_pct",
    "latency": "latency_pct", "throughput": "throughput_pct",
    "success": "success_rate_points", "alpha": "alpha",
}  # fmt: skip


def _thresholds(items: Sequence[str]) -> Any:
    from jobprobe.analysis import regression

    values: dict[str, Any] = {}
    for name, raw in parse_pairs(items, "--threshold").items():
        if name not in THRESHOLD_FIELDS:
            fail(f"unknown --threshold {name!r}; use {', '.join(THRESHOLD_FIELDS)}", USAGE_ERROR)
        try:
            values[THRESHOLD_FIELDS[name]] = float(raw)
        except ValueError:
            fail(f"--threshold {name}={raw!r} is not a number", USAGE_ERROR)
    return regression.Thresholds(**values)


def _label_group(pairs: Sequence[str], tool: str | None) -> list[str]:
    from jobprobe.store import sweeps as store_sweeps

    labels = parse_pairs(pairs, "--label")
    with get_store().session() as session:
        return [
            r["task_id"] for r in store_sweeps.records_between(session, labels=labels, tool=tool)
        ]


@main.command()
@click.argument("jobs", nargs=-1)
@click.option("--baseline-label", multiple=True, metavar="KEY=VALUE", help="Baseline group.")
@click.option("--candidate-label", multiple=True, metavar="KEY=VALUE", help="Candidate group.")
@click.option("--tool", help="Only jobs of this tool (with label groups).")
@click.option(
    "--threshold", "thresholds", multiple=True, metavar="NAME=VALUE",
    help="duration, memory, cost, latency, throughput (%), success (points) or alpha.",
)  # fmt: skip
@json_option
@guarded
def compare(
    jobs: tuple[str, ...], baseline_label: tuple[str, ...], candidate_label: tuple[str, ...],
    tool: str | None, thresholds: tuple[str, ...], as_json: bool,
) -> None:  # fmt: skip
    """Compare job A with job B (or two label groups); exit code 1 on a regression."""
    from jobprobe.tasks import analysis

    limits = _thresholds(thresholds)
    if jobs:
        if len(jobs) != 2 or baseline_label or candidate_label:
            fail("give two job ids (compare A B) or --baseline-label and --candidate-label", 2)
        base, cand = [jobs[0]], [jobs[1]]
    else:
        if not baseline_label or not candidate_label:
            fail("give two job ids (compare A B) or --baseline-label and --candidate-label", 2)
        base, cand = _label_group(baseline_label, tool), _label_group(candidate_label, tool)
        if not base or not cand:
            fail(f"no finished jobs in the {'baseline' if not base else 'candidate'} group", 2)
    facts = analysis.comparison(get_store(), base, cand, thresholds=limits)
    if as_json:
        emit_json(facts)
    else:
        head = (
            "REGRESSED: " + ", ".join(facts["regressions"])
            if facts["regressed"]
            else "no regression"
        )
        click.echo(
            f"{head}  ({facts['baseline_runs']} baseline vs {facts['candidate_runs']} candidate runs)"
        )
        click.echo(table(
            ["METRIC", "BASELINE", "CANDIDATE", "CHANGE", "P", "STATUS", "NOTE"],
            [(r["name"], fmt_num(r["baseline"], 3), fmt_num(r["candidate"], 3),
              "-" if r["relative_change"] is None else f"{100 * r['relative_change']:+.1f}%",
              fmt_num(r["p_value"], 3), r["status"], r["reason"] or "")
             for r in facts["rows"]],
        ))  # fmt: skip
    raise SystemExit(1 if facts["regressed"] else 0)


def _hours(value: float | None) -> str:
    """Hours to three significant figures (short jobs add up to small fractions)."""
    return "-" if value is None else f"{value:.3g}"


TREND_METRICS = ("cpu_hours", "gpu_hours", "wasted_gpu_hours", "jobs", "failures")


@main.command()
@click.option("--by", default="tool", show_default=True, help="tool, queue, worker or label:KEY")
@click.option("--bucket", type=click.Choice(["hour", "day"]), default="day", show_default=True)
@click.option("--metric", type=click.Choice(TREND_METRICS), default="cpu_hours", show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False), help="Write a trend chart PNG here.")
@with_filters
@json_option
@guarded
def trend(
    by: str, bucket: str, metric: str, plot: str | None, status: str | None, tool: str | None,
    labels: tuple[str, ...], since: str | None, queue: str | None, source: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Usage over time per group (CPU-hours, GPU-hours, wasted GPU-hours) and its direction."""
    from jobprobe.analysis import plots, trends
    from jobprobe.store import sweeps as store_sweeps

    filters = history_filters(status, tool, labels, since, queue, source)
    with get_store().session() as session:
        recs = list(store_sweeps.records_between(session, **filters))
    rows = trends.usage_over_time(recs, bucket="day" if bucket == "day" else "hour", by=by)
    buckets = sorted({r["bucket"] for r in rows if r["bucket"]})
    groups = []
    for group in sorted({r["group"] for r in rows}):
        mine = {r["bucket"]: r for r in rows if r["group"] == group}
        series = [mine[b][metric] if b in mine else None for b in buckets]
        totals = {k: sum(r[k] for r in mine.values()) for k in TREND_METRICS}
        groups.append({
            "group": group, **totals, "series": series,
            "trend": trends.trend_direction([v or 0.0 for v in series]).to_dict(),
        })  # fmt: skip
    out: dict[str, Any] = {"by": by, "bucket": bucket, "metric": metric, "buckets": buckets,
                           "groups": groups, "rows": rows}  # fmt: skip
    if plot:
        out["plot"] = str(plots.plot_trend(rows, plot, metric=metric))
    if as_json:
        emit_json(out)
        return
    if not rows:
        click.echo("no finished jobs match")
        return
    click.echo(
        f"{metric} per {bucket} by {by}, {buckets[0][:16] if buckets else '-'} .. {buckets[-1][:16] if buckets else '-'}"
    )
    click.echo(table(
        [by.upper(), "JOBS", "FAILED", "CPU h", "GPU h", "WASTED GPU h", "TREND", metric],
        [(g["group"], g["jobs"], g["failures"], _hours(g["cpu_hours"]), _hours(g["gpu_hours"]),
          _hours(g["wasted_gpu_hours"]), g["trend"]["direction"], sparkline(g["series"]))
         for g in groups],
    ))  # fmt: skip
    if plot:
        click.echo(f"plot: {out['plot']}")


def _pct(change: float | None) -> str:
    return "-" if change is None else f"{100 * change:+.0f}%"


@main.command("compare-periods")
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=7.0, show_default=True)
@click.option("--by", default="tool", show_default=True, help="tool, queue, worker or label:KEY")
@click.option("--tool", help="Only jobs of this tool.")
@click.option("--queue", help="Only jobs of this queue.")
@click.option(
    "--label", "labels", multiple=True, metavar="KEY=VALUE", help="Only jobs with this label."
)
@json_option
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
    from jobprobe.analysis import trends
    from jobprobe.store import sweeps as store_sweeps

    now = datetime.now(UTC)
    with get_store().session() as session:
        recs = list(store_sweeps.records_between(
            session, since=now - timedelta(days=2 * days), tool=tool, queue=queue,
            labels=parse_pairs(labels, "--label"),
        ))  # fmt: skip
    rows = trends.compare_periods(recs, period_days=days, now=now, by=by)
    if as_json:
        emit_json({"by": by, "days": days, "now": now.isoformat(), "groups": rows})
        return
    if not rows:
        click.echo(f"no finished jobs in the last {2 * days:g} days")
        return
    click.echo(f"last {days:g} days against the {days:g} days before, by {by}")
    click.echo(table(
        [by.upper(), "JOBS", "Δ", "FAILED", "Δ", "CPU h", "Δ", "GPU h", "Δ", "WASTED GPU h", "Δ"],
        [(r["group"], r["current"]["jobs"], _pct(r["change"]["jobs"]), r["current"]["failures"],
          _pct(r["change"]["failures"]), _hours(r["current"]["cpu_hours"]), _pct(r["change"]["cpu_hours"]),
          _hours(r["current"]["gpu_hours"]), _pct(r["change"]["gpu_hours"]),
          _hours(r["current"]["wasted_gpu_hours"]), _pct(r["change"]["wasted_gpu_hours"]))
         for r in rows],
    ))  # fmt: skip


def _prune(node: dict[str, Any], top: int) -> dict[str, Any]:
    """``node`` with only its ``top`` highest-ranked children at every level."""
    children = node.get("children") or []
    out = {**node, "children": [_prune(c, top) for c in children[:top]]}
    out["more"] = max(0, len(children) - top)
    return out


def _tree_lines(node: dict[str, Any], depth: int = 0) -> list[str]:
    pad = "  " * depth
    if node["level"] == "job":
        line = f"{pad}job {node['name'][:8]}  {node['status']}"
    else:
        line = f"{pad}{node['level']} {node['name']}  {node['jobs']} jobs, CPU {_hours(node['cpu_hours'])} h"
    line += f", GPU {_hours(node['gpu_hours'])} h, wasted {_hours(node['wasted_gpu_hours'])} h"
    if node.get("gpu_unknown_jobs"):
        line += f" ({node['gpu_unknown_jobs']} jobs with GPUs unmeasured)"
    lines = [line]
    for child in node.get("children") or []:
        lines += _tree_lines(child, depth + 1)
    if node.get("more"):
        lines.append(f"{pad}  … and {node['more']} more")
    return lines


@main.command()
@click.option("--path", "path_", default="queue,label:team,tool", show_default=True,
              help="Levels, comma-separated: queue, tool, worker, label:KEY.")  # fmt: skip
@click.option("--top", type=click.IntRange(1, 1000), default=5, show_default=True)
@with_filters
@json_option
@guarded
def drilldown(
    path_: str, top: int, status: str | None, tool: str | None, labels: tuple[str, ...],
    since: str | None, queue: str | None, source: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Queue → label → tool → job, ranked by wasted GPU-hours (GPUs x idle fraction x hours)."""
    from jobprobe.analysis import trends
    from jobprobe.store import sweeps as store_sweeps

    levels = [p.strip() for p in path_.split(",") if p.strip()]
    filters = history_filters(status, tool, labels, since, queue, source)
    with get_store().session() as session:
        recs = list(store_sweeps.records_between(session, **filters))
    tree = _prune(trends.drilldown(recs, path=levels), top)
    if as_json:
        emit_json({"path": levels, "top": top, "tree": tree})
        return
    click.echo("\n".join(_tree_lines(tree)))


@main.command()
@click.argument("ref")
@click.option(
    "--out", type=click.Path(file_okay=False), help="Directory (default: DATA_DIR/reports)."
)
@json_option
@guarded
def report(ref: str, out: str | None, as_json: bool) -> None:
    """Write a job's or a sweep's report: Markdown, JSON and PNG plots; prints the paths."""
    from jobprobe.store import sweeps as store_sweeps
    from jobprobe.tasks import analysis

    settings = settings_or_fail()
    root = Path(out) if out else settings.resolved_reports_dir
    store = get_store()
    with store.session() as session:
        sweep_ = store_sweeps.find_sweep(session, ref)
        facts = analysis.sweep_analysis(session, sweep_) if sweep_ is not None else None
    if sweep_ is not None and facts is not None:
        body, _ = analysis.write_sweep_report(facts, root / f"sweep-{sweep_.id}")
        kind, full_id = "sweep", sweep_.id
    else:
        record = analysis.job_record(store, ref)
        full_id = str(record["task_id"])
        body, _ = analysis.write_job_report(record, root / full_id)
        kind = "job"
    if as_json:
        emit_json({"kind": kind, "id": full_id, "files": body["files"], "summary": body["summary"]})
        return
    click.echo(f"{kind} {full_id}: {body['summary'].splitlines()[0]}")
    for name, path in body["files"].items():
        click.echo(f"  {name:<10} {path}")


@main.command()
@click.argument("ref")
@click.option("--provider", type=click.Choice(["none", "openai", "bedrock"]),
              help="Default: JOBPROBE_LLM_PROVIDER (none).")  # fmt: skip
@json_option
@guarded
def insight(ref: str, provider: str | None, as_json: bool) -> None:
    """Explain a job, a sweep or compare:A:B in prose, every number checked against the facts."""
    from jobprobe.tasks import analysis

    settings = settings_or_fail()
    body = analysis.insight_now(
        get_store(), ref, analysis.provider_from_settings(settings, provider)
    )
    if as_json:
        emit_json(body)
        return
    click.echo(body["text"])
    click.echo("")
    verified = "yes" if body["verified"] else "no"
    unsupported = body["unsupported_numbers"]
    click.echo(
        f"verified: {verified}"
        + (f" (unsupported: {', '.join(unsupported)})" if unsupported else "")
        + f"  [{body['provider']}/{body['model']}]"
    )


if __name__ == "__main__":
    main()
