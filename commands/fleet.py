"""The worker pool: which workers answer on the broker, their queues and active jobs."""

from __future__ import annotations

from typing import Any

import click

from jobprobe.commands import context, options
from jobprobe.commands.errors import fail, guarded
from jobprobe.commands.rendering import emit_json, table

EMBEDDED = (
    "embedded mode (JOBPROBE_BROKER_URL unset): jobs run inside the jobprobe command, no workers"
)
START_ONE = "celery -A jobprobe.worker.app worker -Q cpu,gpu,iss,analysis"


@click.command()
@click.option(
    "--timeout", type=float, default=2.0, show_default=True, help="Seconds to wait for replies."
)
@options.json_option
@guarded
def workers(timeout: float, as_json: bool) -> None:
    """Workers that answer on the broker, with their queues and active jobs."""
    from kombu.exceptions import OperationalError

    from jobprobe.worker.app import create_app

    settings = context.current().settings
    if settings.embedded:
        emit_json({"mode": "embedded", "workers": []}) if as_json else click.echo(EMBEDDED)
        return
    inspect = create_app(settings).control.inspect(timeout=timeout)
    try:
        stats: dict[str, Any] = inspect.stats() or {}
        queues: dict[str, Any] = inspect.active_queues() or {}
        active: dict[str, Any] = inspect.active() or {}
        # A worker whose data directory is full pauses itself (worker.disk) and says why.
        states = _states(create_app(settings), timeout, expected=len(stats))
    except (OperationalError, OSError) as exc:  # the broker is down or refuses the connection
        fail(
            f"cannot reach the broker {settings.broker_url} ({exc}); start it or fix JOBPROBE_BROKER_URL"
        )
    rows = [
        {
            "worker": name,
            "queues": sorted(q["name"] for q in queues.get(name, [])),
            "active": len(active.get(name, [])),
            "concurrency": (stats[name].get("pool") or {}).get("max-concurrency"),
            "processed": sum((stats[name].get("total") or {}).values()),
            "paused": states.get(name, {}).get("paused"),
        }
        for name in sorted(stats)
    ]
    if as_json:
        emit_json({"mode": "distributed", "workers": rows})
    elif not rows:
        click.echo(f"no worker answered within {timeout:g} s (start one: {START_ONE})")
    else:
        click.echo(table(
            ["WORKER", "QUEUES", "ACTIVE", "CONCURRENCY", "PROCESSED"],
            [(r["worker"], ",".join(r["queues"]), r["active"], r["concurrency"], r["processed"]) for r in rows],
        ))  # fmt: skip
        for r in rows:
            if r["paused"]:
                click.echo(f"{r['worker']} is paused, takes no jobs: {r['paused']}")


def _states(app: Any, timeout: float, *, expected: int) -> dict[str, dict[str, Any]]:
    """Each worker's ``jobprobe_state`` reply (paused or not, and why); returns as soon as the
    ``expected`` workers (those that answered ``stats``) have replied."""
    from jobprobe.worker.disk import STATE

    if not expected:
        return {}
    replies = app.control.broadcast(STATE, reply=True, timeout=timeout, limit=expected) or []
    out: dict[str, dict[str, Any]] = {}
    for reply in replies:
        for name, state in reply.items():
            if isinstance(state, dict) and "error" not in state:
                out[name] = state
    return out
