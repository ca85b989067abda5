"""ISS jobs in the jobs table: upsert a remote record, its status history and artifacts.

An ISS job is a ``Job`` row with ``source="iss"`` and ``external_id=JobRequestID``. Its
``status`` speaks jobprobe's vocabulary (queued, running, success, failed); the exact ISS status
lives in ``raw`` and in each status event's detail (``"iss: inprogress"``). Input is the raw ISS
record as a dict; the ISS statuses are ``iss_client.models.JobStatus``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobprobe.iss_client import models as iss_models
from jobprobe.store import errors, timestamps
from jobprobe.store import jobs as store_jobs
from jobprobe.store.models import Job, JobLabel, StatusEvent, SyncState
from jobprobe.store.status import JobSource, JobStatus

SOURCE = JobSource.ISS
EVENT_PREFIX = "iss: "
#: Sync state keys: the newest ``LastUpdatedOn`` a sync saw, and "a poll chain follows job X".
LAST_SYNC_KEY = "iss.last_sync"
TRACKING_PREFIX = "iss.tracking."

# ISS status -> jobprobe status. Unknown ISS statuses keep the job's previous jobprobe status.
STATUS_MAP: dict[str, JobStatus] = {
    iss_models.JobStatus.REQUESTED: JobStatus.QUEUED,
    iss_models.JobStatus.QUEUED: JobStatus.QUEUED,
    iss_models.JobStatus.ALLOCATING: JobStatus.QUEUED,
    iss_models.JobStatus.ALLOCATED: JobStatus.QUEUED,
    iss_models.JobStatus.BOOTING: JobStatus.RUNNING,
    iss_models.JobStatus.INPROGRESS: JobStatus.RUNNING,
    iss_models.JobStatus.CHECKPOINTING: JobStatus.RUNNING,
    iss_models.JobStatus.RELEASING: JobStatus.RUNNING,
    iss_models.JobStatus.DONE: JobStatus.SUCCESS,
    iss_models.JobStatus.COMPLETE: JobStatus.SUCCESS,
    iss_models.JobStatus.RELEASED: JobStatus.SUCCESS,
    iss_models.JobStatus.ERROR: JobStatus.FAILED,
}
#: The jobprobe statuses an ISS job ends in.
ENDED = frozenset({JobStatus.SUCCESS, JobStatus.FAILED})


def jobprobe_status(iss_status: str | None, previous: JobStatus | None = None) -> JobStatus:
    """The jobprobe status for an ISS status; an unknown one keeps ``previous`` (or queued)."""
    mapped = STATUS_MAP.get((iss_status or "").strip().lower())
    return mapped or previous or JobStatus.QUEUED


def _metadata(record: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = record.get("Metadata")
    return meta if isinstance(meta, Mapping) else {}


def transitions(record: Mapping[str, Any], now: datetime) -> list[tuple[str, datetime]]:
    """The ISS statuses the record says the job went through, oldest first, ending at its current one.

    Uses ``SubStates`` (``[{"State", "EnteredOn"}]``) when present; otherwise the current status
    at ``Metadata.LastUpdatedOn`` (or ``now``).
    """
    current = record.get("JobRequestStatus")
    current = str(current) if current is not None else "unknown"
    steps: list[tuple[str, datetime]] = []
    sub_states = record.get("SubStates")
    if isinstance(sub_states, list):
        for item in sub_states:
            if not isinstance(item, Mapping) or not item.get("State"):
                continue
            at = iss_models.parse_timestamp(item.get("EnteredOn"))
            if at is not None:
                steps.append((str(item["State"]), at))
    if not steps or steps[-1][0] != current:
        at = iss_models.parse_timestamp(_metadata(record).get("LastUpdatedOn")) or now
        if steps and at < steps[-1][1]:
            at = steps[-1][1]
        steps.append((current, at))
    return steps


def labels_of(record: Mapping[str, Any]) -> dict[str, str]:
    """Labels of an ISS job: type, platform, requester and ISS queue (those that are known)."""
    meta = _metadata(record)
    found = {
        "iss_type": record.get("Type"),
        "platform": record.get("PlatformName"),
        "requested_by": meta.get("RequestedBy"),
        "iss_queue": record.get("Queue"),
    }
    return {k: str(v) for k, v in found.items() if v not in (None, "")}


def find_iss_job(session: Session, external_id: str, *, for_update: bool = False) -> Job | None:
    """The stored ISS job with this ``JobRequestID``, or None."""
    stmt = sa.select(Job).where(Job.source == SOURCE, Job.external_id == str(external_id))
    if for_update and session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def _iss_events(session: Session, job_id: str) -> list[StatusEvent]:
    stmt = (
        sa.select(StatusEvent)
        .where(StatusEvent.job_id == job_id, StatusEvent.detail.startswith(EVENT_PREFIX))
        .order_by(StatusEvent.at, StatusEvent.id)
    )
    return list(session.scalars(stmt))


def _set_labels(session: Session, job: Job, labels: dict[str, str]) -> None:
    if job.labels == labels:
        return
    session.execute(sa.delete(JobLabel).where(JobLabel.job_id == job.id))
    session.add_all(JobLabel(job_id=job.id, key=k, value=v) for k, v in labels.items())
    job.labels = labels


def _fill_times(session: Session, job: Job) -> None:
    """started/ended/duration from the job's ISS events (first running, first ended)."""
    events = _iss_events(session, job.id)
    started = next((e.at for e in events if e.status == JobStatus.RUNNING), None)
    ended = next((e.at for e in events if e.status in ENDED), None)
    job.started_at = started
    job.ended_at = ended if job.status in ENDED else None
    if job.started_at is not None and job.ended_at is not None:
        job.duration_s = max(0.0, (job.ended_at - job.started_at).total_seconds())
        job.queue_wait_s = max(0.0, (job.started_at - job.submitted_at).total_seconds())
    else:
        job.duration_s = None


def upsert_iss_job(
    session: Session,
    job: Mapping[str, Any],
    *,
    queue: str,
    now: datetime | None = None,
) -> tuple[Job, bool]:
    """Insert or update the ISS job ``job`` (a raw ISS record); returns (row, changed).

    One status event per ISS status change (re-polling the same status adds nothing); the
    record is merged into ``raw`` so detail fields from ``get_job`` survive a list-shaped sync.
    """
    if not job.get("JobRequestID"):
        raise errors.StoreError("an ISS job record without JobRequestID cannot be stored")
    now = now or store_jobs.utcnow()
    external_id = str(job["JobRequestID"])
    record = dict(job)
    steps = transitions(record, now)
    error_detail = record.get("JobRequestStatusDetails")
    row = find_iss_job(session, external_id, for_update=True)
    existed = row is not None
    changed = not existed
    if row is None:
        first_status, first_at = steps[0]
        submitted = iss_models.parse_timestamp(_metadata(record).get("RequestedOn")) or first_at
        row = store_jobs.create_job(
            session,
            tool=f"iss:{record.get('Type') or 'unknown'}",
            queue=queue,
            script_name=str(record.get("Name") or external_id),
            params=_params(record),
            labels=labels_of(record),
            source=SOURCE,
            external_id=external_id,
            status=jobprobe_status(first_status),
            submitted_at=submitted,
        )
        first = session.scalars(sa.select(StatusEvent).where(StatusEvent.job_id == row.id)).one()
        first.at, first.detail = first_at, f"{EVENT_PREFIX}{first_status}"
        row.raw = record
        recorded: list[tuple[str, datetime]] = [(first_status, first_at)]
        steps = steps[1:]
    else:
        recorded = [
            (e.detail[len(EVENT_PREFIX) :], e.at) for e in _iss_events(session, row.id) if e.detail
        ]
        merged = {**(row.raw or {}), **record}
        if merged != row.raw:
            row.raw, changed = merged, True
        if row.tool != f"iss:{record.get('Type') or 'unknown'}" and record.get("Type"):
            row.tool, changed = f"iss:{record['Type']}", True
        if record.get("Name") and row.script_name != str(record["Name"]):
            row.script_name, changed = str(record["Name"]), True
        params = _params(record)
        if params and row.params != params:
            row.params, changed = params, True
        labels = labels_of(record)
        if row.labels != labels:
            _set_labels(session, row, labels)
            changed = True
    last_status = recorded[-1][0] if recorded else None
    last_at = recorded[-1][1] if recorded else None
    if existed and last_at is not None:
        # Only what happened after the last recorded status, ending at the current one.
        current = steps[-1]
        steps = [s for s in steps if s[1] > last_at]
        if current[0] != last_status and (not steps or steps[-1][0] != current[0]):
            steps.append(current)
    for status, at in steps:
        if status == last_status:
            continue
        if last_at is not None and at < last_at:
            at = last_at  # never write history out of order
        store_jobs.set_status(
            session,
            row,
            jobprobe_status(status, row.status),
            detail=f"{EVENT_PREFIX}{status}",
            at=at,
        )
        last_status, last_at, changed = status, at, True
    if changed:
        row.status = jobprobe_status(last_status, row.status)
        row.error = str(error_detail) if row.status == JobStatus.FAILED and error_detail else None
        row.updated_at = now
        session.flush()
        _fill_times(session, row)
    return row, changed


def _params(record: Mapping[str, Any]) -> dict[str, Any]:
    params = record.get("ExecutionParameters")
    return dict(params) if isinstance(params, Mapping) else {}


def set_iss_artifacts(session: Session, job_id: str, files: Sequence[Mapping[str, Any]]) -> Job:
    """Store the artifact list of ISS job ``job_id`` (name, path, size, type, kind per file)."""
    job = store_jobs.get_job(session, job_id, for_update=True)
    job.artifacts = [dict(f) for f in files]
    job.updated_at = store_jobs.utcnow()
    return job


def note_tracking(session: Session, job_id: str, detail: str, *, error: str | None = None) -> Job:
    """Record a tracking event (gave up, failed) without changing the job's status."""
    job = store_jobs.get_job(session, job_id, for_update=True)
    now = store_jobs.utcnow()
    session.add(StatusEvent(job_id=job.id, status=job.status, at=now, detail=detail))
    if error is not None:
        job.error = error
    job.updated_at = now
    return job


def get_sync_state(session: Session, key: str) -> str | None:
    """The stored value of ``key`` (e.g. ``iss.last_sync``), or None."""
    row = session.get(SyncState, key)
    return row.value if row is not None else None


def set_sync_state(session: Session, key: str, value: str) -> None:
    """Store ``value`` under ``key``."""
    row = session.get(SyncState, key)
    if row is None:
        session.add(SyncState(key=key, value=value))
    else:
        row.value = value


def delete_sync_state(session: Session, key: str) -> None:
    """Forget ``key`` (absent keys are fine)."""
    session.execute(sa.delete(SyncState).where(SyncState.key == key))


def last_sync(session: Session) -> datetime | None:
    """The newest ISS ``LastUpdatedOn`` the last sync saw, or None before the first sync."""
    return timestamps.parse_utc(get_sync_state(session, LAST_SYNC_KEY))


def set_last_sync(session: Session, at: datetime) -> None:
    """Remember the newest ``LastUpdatedOn`` a sync saw."""
    set_sync_state(session, LAST_SYNC_KEY, at.isoformat())


def mark_tracked(session: Session, external_id: str, at: datetime) -> None:
    """Note that a poll chain touched ISS job ``external_id`` at ``at``."""
    set_sync_state(session, TRACKING_PREFIX + external_id, at.isoformat())


def is_tracked(session: Session, external_id: str, *, within_s: float) -> bool:
    """True when a poll chain touched ISS job ``external_id`` in the last ``within_s`` seconds."""
    last = timestamps.parse_utc(get_sync_state(session, TRACKING_PREFIX + external_id))
    return last is not None and store_jobs.utcnow() - last < timedelta(seconds=within_s)


def untrack(session: Session, external_id: str) -> None:
    """Forget that a poll chain follows ISS job ``external_id``."""
    delete_sync_state(session, TRACKING_PREFIX + external_id)
