"""The worker pool from the store: the workers seen lately and the queue lengths (jobs waiting
and running per queue). Which workers answer on the broker right now is the ``workers``
command's (it asks Celery); these need no broker."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobprobe.queries.filters import ago

if TYPE_CHECKING:
    from jobprobe.store.db import Store


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def workers_seen(
    store: Store, *, within_s: float = 3600.0, now: datetime | None = None
) -> dict[str, Any]:
    """``{"since", "workers": [{"worker", "last_seen", "running", "jobs", "queues"}]}``: the
    workers that hold a running job or changed a job in the last ``within_s`` seconds."""
    from jobprobe.store import fleet

    since = ago(within_s, field="within_s", now=now)
    with store.session() as session:
        rows = fleet.workers(session, since=since)
    return {
        "since": since.isoformat(),
        "workers": [{**r, "last_seen": _iso(r["last_seen"])} for r in rows],
    }


def queue_lengths(store: Store) -> dict[str, Any]:
    """``{"queues": [{"queue", "queued", "running", "oldest_queued_at"}]}`` for each queue
    with a job waiting or running."""
    from jobprobe.store import fleet

    with store.session() as session:
        rows = fleet.queue_lengths(session)
    return {"queues": [{**r, "oldest_queued_at": _iso(r["oldest_queued_at"])} for r in rows]}
