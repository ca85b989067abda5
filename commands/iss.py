"""The ``iss`` group: Intel Simulation Service platforms, jobs, schemas and files, and ISS jobs
tracked in the store beside local ones."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from jobprobe.commands import context, options
from jobprobe.commands.errors import guarded
from jobprobe.commands.rendering import emit_json, fmt_num, fmt_when, table
from jobprobe.queries import iss as query_iss

if TYPE_CHECKING:
    from jobprobe.iss_client import IssClient

JOB_HEADERS = ["JOB", "ISS STATUS", "TYPE", "PLATFORM", "NAME", "BY", "REQUESTED", "UPDATED"]


def _client() -> IssClient:
    """An ISS client from the settings; an unconfigured ISS is one line and exit 2."""
    from jobprobe.tasks import iss as iss_tasks

    return iss_tasks.make_client(context.current().settings)


def _job_row(raw: dict[str, Any]) -> tuple[Any, ...]:
    meta = raw.get("Metadata") or {}
    return (
        raw.get("JobRequestID"), raw.get("JobRequestStatus"), raw.get("Type"),
        raw.get("PlatformName"), str(raw.get("Name") or "")[:28], meta.get("RequestedBy"),
        fmt_when(meta.get("RequestedOn")), fmt_when(meta.get("LastUpdatedOn")),
    )  # fmt: skip


@click.group()
def iss() -> None:
    """Intel Simulation Service: platforms, jobs, schemas and files; track ISS jobs in the store.

    Configure with JOBPROBE_ISS_API_URL, JOBPROBE_ISS_TOKEN_URL and JOBPROBE_ISS_CLIENT_ID /
    JOBPROBE_ISS_CLIENT_SECRET (or ISS_API_URL, AUTH_DOMAIN, CLIENT_ID, CLIENT_SECRET, or
    CLIENT_SECRET_NAME with the AWS_*_ISS keys).
    """


@iss.command("platforms")
@options.json_option
@guarded
def iss_platforms(as_json: bool) -> None:
    """Platforms ISS offers."""
    with _client() as client:
        out = query_iss.iss_platforms(client)
    if as_json:
        emit_json(out)
        return
    platforms = out["platforms"]
    click.echo(table(
        ["ID", "NAME", "TYPE", "CORES", "MEMORY", "FEATURES"],
        [(p.get("PlatformID"), p.get("PlatformName"), p.get("PlatformType"), p.get("Cores"),
          p.get("MemorySize"), ", ".join(map(str, p.get("Features") or []))) for p in platforms],
    ))  # fmt: skip


@iss.command("platform")
@click.argument("platform_id")
@options.json_option
@guarded
def iss_platform(platform_id: str, as_json: bool) -> None:
    """One platform by PlatformID (or name)."""
    with _client() as client:
        platform = query_iss.iss_platform(client, platform_id)
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
@options.json_option
@guarded
def iss_jobs(status: str | None, job_type: str | None, limit: int, as_json: bool) -> None:
    """Jobs on ISS (newest pages first, as ISS lists them)."""
    with _client() as client:
        out = query_iss.iss_jobs(client, status=status, job_type=job_type, limit=limit)
    jobs = out["jobs"]
    if as_json:
        emit_json(out)
    elif not jobs:
        click.echo("no ISS jobs match")
    else:
        click.echo(table(JOB_HEADERS, [_job_row(j) for j in jobs]))


@iss.command("job")
@click.argument("job_id")
@options.json_option
@guarded
def iss_job(job_id: str, as_json: bool) -> None:
    """One ISS job with its details and status history."""
    with _client() as client:
        raw = query_iss.iss_job(client, job_id)
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
@options.json_option
@guarded
def iss_schema(job_type: str, platform: str, as_json: bool) -> None:
    """The parameter schema of a job kind (iwps, isim, coho, or a job type) on a platform."""
    with _client() as client:
        schema = client.get_schema(query_iss.file_kind(job_type), platform)
    emit_json(schema)  # a schema is JSON either way


@iss.command("files")
@click.argument("job_id")
@click.option("--kind", help="File-service kind (iwps, isim, coho). Default: from the job.")
@click.option(
    "--download", "dest", type=click.Path(file_okay=False, path_type=Path),
    help="Download every artifact into this folder (byte for byte).",
)  # fmt: skip
@options.json_option
@guarded
def iss_files(job_id: str, kind: str | None, dest: Path | None, as_json: bool) -> None:
    """A job's artifacts; --download DIR fetches them."""
    downloaded: list[dict[str, Any]] = []
    with _client() as client:
        found = query_iss.iss_files(client, job_id, kind)
        kind, listing = found["kind"], found["files"]
        if dest is not None:
            dest.mkdir(parents=True, exist_ok=True)
            for f in listing:
                target = dest / Path(f["path"] or f["name"]).name
                size = client.download_file(job_id, kind, f["path"] or f["name"], target)
                downloaded.append({"name": f["name"], "path": str(target), "size": size})
    if as_json:
        emit_json({**found, "downloaded": downloaded})
        return
    if not listing:
        click.echo(f"no artifacts for {job_id} ({kind}) yet")
        return
    click.echo(
        table(["NAME", "SIZE", "TYPE"], [(f["name"], f["size"], f["type"]) for f in listing])
    )
    for d in downloaded:
        click.echo(f"saved {d['path']} ({d['size']} bytes)")


class _EventPrinter:
    """Prints a job's status events on stderr as they are stored, each once."""

    def __init__(self) -> None:
        self.shown = 0

    def __call__(self, job_id: str) -> None:
        from jobprobe.queries import jobs as query_jobs

        events = query_jobs.status_history(context.current().store, job_id)[self.shown :]
        lines = [f"{e['status']:<8} {e['detail'] or ''}" for e in events]
        self.shown += len(lines)
        for line in lines:
            click.echo(line, err=True)


@iss.command("track")
@click.argument("job_id")
@click.option(
    "--wait/--no-wait", default=None, help="Follow until the job ends (default: in embedded mode)."
)
@click.option(
    "--timeout", type=float, help="Seconds to follow (default: JOBPROBE_ISS_TRACK_DEADLINE)."
)
@options.json_option
@guarded
def iss_track(job_id: str, wait: bool | None, timeout: float | None, as_json: bool) -> None:
    """Mirror an ISS job into the store and follow it to its end.

    With workers, a poll task follows it (every JOBPROBE_ISS_POLL_INTERVAL seconds); in embedded
    mode this command polls in the foreground. Its history, stats and details then cover the job.
    """
    from jobprobe.tasks import get_record
    from jobprobe.tasks import iss as iss_tasks
    from jobprobe.worker.app import create_app

    inv = context.current()
    settings = inv.settings
    client = _client()
    create_app(settings).loader.import_default_modules()  # the poll and analysis tasks
    with client:
        outcome, tracking = iss_tasks.track(
            client, inv.store, job_id, settings=settings,
            wait=settings.embedded if wait is None else wait,
            timeout=settings.iss_track_deadline if timeout is None else timeout,
            on_poll=_EventPrinter(),
        )  # fmt: skip
    rec = {**get_record(outcome.job_id, settings=settings), "tracking": tracking}
    if as_json:
        emit_json(rec)
        return
    raw = rec.get("raw") or {}
    click.echo(
        f"ISS job {outcome.external_id} -> job {rec['task_id'][:8]}: {rec['status']} "
        f"(ISS {raw.get('JobRequestStatus')}), tracking {tracking}"
    )
    for f in rec["artifacts"]:
        click.echo(f"  artifact {f.get('name')} ({fmt_num(f.get('size'))} bytes)")


@iss.command("sync")
@options.json_option
@guarded
def iss_sync(as_json: bool) -> None:
    """Mirror ISS jobs changed since the last sync into the store (beat does this on a schedule)."""
    from jobprobe.tasks import iss as iss_tasks
    from jobprobe.worker.app import create_app

    inv = context.current()
    client = _client()
    create_app(inv.settings)
    with client:
        counts, to_track = iss_tasks.sync_jobs(
            client, inv.store, queue=inv.settings.queue_iss,
            stale_after_s=iss_tasks.stale_after(inv.settings),
        )  # fmt: skip
    result = {**counts, "tracking": iss_tasks.start_tracking(inv.store, to_track, inv.settings)}
    if as_json:
        emit_json(result)
        return
    click.echo(
        f"{result['seen']} ISS jobs seen: {result['created']} new, {result['updated']} updated, "
        f"{result['unchanged']} unchanged, {result['skipped']} not changed since the last sync; "
        f"{result['tracking']} now tracked by workers"
    )
