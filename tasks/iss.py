"""ISS tracking: poll one remote job to its end, and sync recent jobs (Celery beat).

The work is in plain functions (``make_client``, ``poll_once``, ``sync_jobs``...) that take an
``IssClient`` and a ``Store``; the two Celery tasks at the bottom only wire them to settings and
re-schedule themselves with a countdown (a worker never sleeps waiting for ISS).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from celery import Task, shared_task

from jobprobe import iss_client
from jobprobe.iss_client import errors as iss_errors
from jobprobe.store import errors as store_errors
from jobprobe.store import iss_jobs, timestamps
from jobprobe.store import jobs as store_jobs
from jobprobe.store.db import Store
from jobprobe.tasks import errors
from jobprobe.tasks.follow_up import queue_analysis
from jobprobe.tasks.retry import RetryingTask
from jobprobe.worker import runtime
from jobprobe.worker.settings import Settings

log = logging.getLogger(__name__)

POLL_TASK = "jobprobe.iss.poll_iss_job"
SYNC_TASK = "jobprobe.iss.sync_iss_jobs"
# Polls of a "done" job that tracking waits for it to settle (see SETTLED_STATUSES).
DONE_GRACE_POLLS = 10
NOT_CONFIGURED = (
    "ISS is not configured: set JOBPROBE_ISS_API_URL (or ISS_API_URL), "
    "JOBPROBE_ISS_TOKEN_URL (or AUTH_DOMAIN) and JOBPROBE_ISS_CLIENT_ID/"
    "JOBPROBE_ISS_CLIENT_SECRET (or CLIENT_SECRET_NAME with the AWS_*_ISS keys)"
)


IssNotConfigured = errors.IssNotConfigured


# -- client -----------------------------------------------------------------------------------


def iss_configured(settings: Settings) -> bool:
    """True when the settings name an ISS API URL."""
    return bool(settings.iss_api_url)


def make_client(settings: Settings, **options: Any) -> iss_client.IssClient:
    """An IssClient from the settings: direct credentials, or AWS Secrets Manager when
    ``iss_secret_name`` is set. Raises IssNotConfigured naming what is missing."""
    if not settings.iss_api_url:
        raise IssNotConfigured(NOT_CONFIGURED)
    if not settings.iss_token_url:
        raise IssNotConfigured(
            "ISS is not configured: set JOBPROBE_ISS_TOKEN_URL (or AUTH_DOMAIN), the OAuth2 token URL"
        )
    files_url = settings.iss_files_url or settings.iss_api_url
    if settings.iss_secret_name:
        missing = [
            name
            for name, value in (
                ("JOBPROBE_ISS_AWS_ACCESS_KEY_ID (or AWS_ACCESS_KEY_ID_ISS)", settings.iss_aws_access_key_id),
                ("JOBPROBE_ISS_AWS_SECRET_ACCESS_KEY (or AWS_SECRET_ACCESS_KEY_ISS)", settings.iss_aws_secret_access_key),
                ("JOBPROBE_ISS_AWS_REGION (or AWS_REGION_ISS)", settings.iss_aws_region),
            )
            if not value
        ]  # fmt: skip
        if missing:
            raise IssNotConfigured(
                f"ISS is not configured: CLIENT_SECRET_NAME is set but {', '.join(missing)} is not"
            )
        assert settings.iss_aws_access_key_id and settings.iss_aws_secret_access_key
        assert settings.iss_aws_region
        return iss_client.IssClient.from_aws_secret(
            settings.iss_api_url,
            files_url,
            settings.iss_token_url,
            secret_name=settings.iss_secret_name,
            aws_access_key_id=settings.iss_aws_access_key_id,
            aws_secret_access_key=settings.iss_aws_secret_access_key,
            region_name=settings.iss_aws_region,
            endpoint_url=settings.iss_aws_endpoint_url,
            **options,
        )
    if not settings.iss_client_id or settings.iss_client_secret is None:
        raise IssNotConfigured(
            "ISS is not configured: set JOBPROBE_ISS_CLIENT_ID and JOBPROBE_ISS_CLIENT_SECRET "
            "(or CLIENT_ID/CLIENT_SECRET, or CLIENT_SECRET_NAME for AWS Secrets Manager)"
        )
    return iss_client.IssClient(
        settings.iss_api_url,
        files_url,
        settings.iss_token_url,
        settings.iss_client_id,
        settings.iss_client_secret,
        **options,
    )


# -- tracking one job ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PollOutcome:
    """What one poll of an ISS job found and stored."""

    job_id: str
    external_id: str
    iss_status: str | None
    status: str
    changed: bool
    settled: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (task results, ``--json``)."""
        return asdict(self)


def resolve_external_id(store: Store, job_ref: str) -> str:
    """The ISS JobRequestID for ``job_ref``: a stored jobprobe id (or prefix) or an ISS id."""
    with store.session() as session:
        if iss_jobs.find_iss_job(session, job_ref) is not None:
            return job_ref
        try:
            job = store_jobs.get_job(session, job_ref)
        except store_errors.JobNotFound:
            return job_ref
        if job.source != iss_jobs.SOURCE or not job.external_id:
            raise errors.SubmitError(f"job {job_ref} is a {job.source} job, not an ISS job")
        return job.external_id


def poll_once(
    client: iss_client.IssClient,
    store: Store,
    external_id: str,
    *,
    queue: str,
    done_polls: int = 0,
) -> PollOutcome:
    """Fetch one ISS job and store it; when it has settled, store its artifact list too."""
    remote = client.get_job(external_id)
    raw = remote.raw()
    with store.session() as session:
        job, changed = iss_jobs.upsert_iss_job(session, raw, queue=queue)
        outcome = PollOutcome(job.id, remote.job_id, remote.status, job.status, changed, False)
    iss_status = (remote.status or "").lower()
    settled = iss_status in iss_client.SETTLED_STATUSES or (
        remote.is_terminal and done_polls >= DONE_GRACE_POLLS
    )
    if settled:
        finish(client, store, outcome.job_id)
        outcome = PollOutcome(**{**outcome.as_dict(), "settled": True})
    return outcome


def finish(client: iss_client.IssClient, store: Store, job_id: str) -> list[dict[str, Any]]:
    """Store the artifact list of an ended ISS job and stop tracking it; returns the list."""
    with store.session() as session:
        job = store_jobs.get_job(session, job_id)
        external_id, raw = job.external_id or "", dict(job.raw or {})
    kind = iss_client.models.artifact_kind(raw)
    try:
        listing = client.list_files(external_id, kind).files
    except iss_errors.IssNotFoundError:
        listing = []  # no artifact folder: the job produced nothing
    files = [f.artifact(kind) for f in listing]
    with store.session() as session:
        iss_jobs.set_iss_artifacts(session, job_id, files)
        iss_jobs.untrack(session, external_id)
    return files


def give_up(store: Store, job_id: str, *, after_s: float, iss_status: str | None) -> None:
    """Record that tracking stopped at the deadline (the job's status is left as it was)."""
    detail = f"tracking gave up after {after_s:.0f} s (ISS status {iss_status})"
    with store.session() as session:
        job = iss_jobs.note_tracking(session, job_id, detail)
        iss_jobs.untrack(session, job.external_id or "")


def record_failure(store: Store, external_id: str, exc: BaseException) -> None:
    """Store why tracking failed for good (a permanent ISS error) on the job, if it is stored."""
    reason = f"ISS tracking failed: {exc}"
    with store.session() as session:
        job = iss_jobs.find_iss_job(session, external_id)
        if job is not None:
            iss_jobs.note_tracking(session, job.id, reason, error=reason)
        iss_jobs.untrack(session, external_id)


def mark_tracked(store: Store, external_id: str, now: datetime | None = None) -> None:
    """Note that a poll chain follows this job (sync then does not start another)."""
    with store.session() as session:
        iss_jobs.mark_tracked(session, external_id, now or store_jobs.utcnow())


def is_tracked(store: Store, external_id: str, *, stale_after_s: float) -> bool:
    """True when a poll chain touched this job within ``stale_after_s`` seconds."""
    with store.session() as session:
        return iss_jobs.is_tracked(session, external_id, within_s=stale_after_s)


def stale_after(settings: Settings) -> float:
    """Seconds without a poll after which a tracking mark no longer counts."""
    return max(60.0, 5 * settings.iss_poll_interval)


@dataclass(frozen=True)
class TrackStep:
    """One poll of a tracked ISS job: its outcome, the "done" polls seen so far (the grace
    count the next poll takes) and whether tracking gave up at the deadline."""

    outcome: PollOutcome
    done_polls: int
    gave_up: bool = False


def track_step(
    client: iss_client.IssClient,
    store: Store,
    external_id: str,
    *,
    queue: str,
    started: datetime,
    deadline_s: float,
    done_polls: int,
) -> TrackStep:
    """Poll a tracked job once. Once ``deadline_s`` seconds have passed since ``started``, a job
    that ISS calls ended is finished as it is, and tracking of any other gives up."""
    outcome = poll_once(client, store, external_id, queue=queue, done_polls=done_polls)
    iss_status = (outcome.iss_status or "").lower()
    elapsed = (store_jobs.utcnow() - started).total_seconds()
    if not outcome.settled and elapsed >= deadline_s:
        if iss_status not in iss_client.TERMINAL_STATUSES:
            give_up(store, outcome.job_id, after_s=elapsed, iss_status=outcome.iss_status)
            return TrackStep(outcome, done_polls, gave_up=True)
        finish(client, store, outcome.job_id)
        outcome = PollOutcome(**{**outcome.as_dict(), "settled": True})
    done = iss_status == iss_client.JobStatus.DONE
    return TrackStep(outcome, done_polls + 1 if done else done_polls)


def follow(
    client: iss_client.IssClient,
    store: Store,
    external_id: str,
    *,
    queue: str,
    deadline_s: float,
    interval_s: float,
    on_poll: Callable[[str], object],
) -> TrackStep:
    """Poll a job here, every ``interval_s`` seconds, until it settles or tracking gives up
    after ``deadline_s`` (embedded mode, where no worker holds a poll chain).
    ``on_poll(job_id)`` runs after every poll."""
    started = store_jobs.utcnow()
    step = track_step(client, store, external_id, queue=queue, started=started,
                      deadline_s=deadline_s, done_polls=0)  # fmt: skip
    on_poll(step.outcome.job_id)
    while not (step.outcome.settled or step.gave_up):
        left = deadline_s - (store_jobs.utcnow() - started).total_seconds()
        time.sleep(max(0.0, min(interval_s, left)))
        step = track_step(client, store, external_id, queue=queue, started=started,
                          deadline_s=deadline_s, done_polls=step.done_polls)  # fmt: skip
        on_poll(step.outcome.job_id)
    return step


def track(
    client: iss_client.IssClient,
    store: Store,
    job_ref: str,
    *,
    settings: Settings,
    wait: bool,
    timeout: float,
    on_poll: Callable[[str], object],
) -> tuple[PollOutcome, str]:
    """Mirror ISS job ``job_ref`` into the store and have it followed to its end.

    With workers, a poll chain follows it (``wait`` watches the chain for up to ``timeout``
    seconds); in embedded mode ``wait`` polls here. A job that settles has its analysis
    queued. Returns the last outcome seen and how tracking stands: ``done``, ``queued``,
    ``still tracked by the workers``, ``gave up`` or ``stored once (not followed)``.
    """
    external_id = resolve_external_id(store, job_ref)
    if settings.embedded and wait:
        step = follow(client, store, external_id, queue=settings.queue_iss, deadline_s=timeout,
                      interval_s=settings.iss_poll_interval, on_poll=on_poll)  # fmt: skip
        outcome, tracking = step.outcome, "gave up" if step.gave_up else "done"
    else:
        outcome = poll_once(client, store, external_id, queue=settings.queue_iss)
        tracking = "done" if outcome.settled else "stored once (not followed)"
        if not outcome.settled and not settings.embedded:
            start_tracking(store, [external_id], settings)
            tracking = "queued"
            if wait and _watch_chain(store, outcome.job_id, external_id, settings=settings,
                                     timeout=timeout, on_poll=on_poll):  # fmt: skip
                tracking = "done"
            elif wait:
                tracking = "still tracked by the workers"
    if outcome.settled:
        queue_analysis(outcome.job_id)
    return outcome, tracking


def _watch_chain(
    store: Store, job_id: str, external_id: str, *, settings: Settings, timeout: float,
    on_poll: Callable[[str], object],
) -> bool:  # fmt: skip
    """Wait up to ``timeout`` seconds for the workers' poll chain to end; True if it did."""
    deadline = time.monotonic() + timeout
    interval = min(settings.iss_poll_interval, 2.0)
    while True:
        ended = not is_tracked(store, external_id, stale_after_s=timeout + 3600)
        on_poll(job_id)
        if ended:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


# -- sync ---------------------------------------------------------------------------------------


def sync_jobs(
    client: iss_client.IssClient,
    store: Store,
    *,
    queue: str,
    stale_after_s: float,
) -> tuple[dict[str, int], list[str]]:
    """Upsert every ISS job changed since the last sync; returns (counts, ids to track).

    "Changed" compares ``Metadata.LastUpdatedOn`` with the newest one seen by the last sync
    (ISS's own clock, so local clock skew does not lose updates). Ids to track are the
    non-terminal jobs no poll chain follows.
    """
    with store.session() as session:
        last = iss_jobs.last_sync(session)
    counts = {"seen": 0, "created": 0, "updated": 0, "unchanged": 0, "skipped": 0}
    newest = last
    to_track: list[str] = []
    for remote in client.iter_jobs():
        counts["seen"] += 1
        updated = remote.updated_at
        if updated is not None and (newest is None or updated > newest):
            newest = updated
        if last is not None and updated is not None and updated < last:
            counts["skipped"] += 1
            continue
        with store.session() as session:
            existed = iss_jobs.find_iss_job(session, remote.job_id) is not None
            _, changed = iss_jobs.upsert_iss_job(session, remote.raw(), queue=queue)
        counts["unchanged" if not changed else "updated" if existed else "created"] += 1
        if not remote.is_terminal and not is_tracked(
            store, remote.job_id, stale_after_s=stale_after_s
        ):
            to_track.append(remote.job_id)
    if newest is not None:
        with store.session() as session:
            iss_jobs.set_last_sync(session, newest)
    return counts, to_track


# -- Celery tasks -------------------------------------------------------------------------------


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning(message)


@shared_task(name=POLL_TASK, bind=True, base=RetryingTask)
def poll_iss_job(
    self: Task, job_ref: str, started_at: str | None = None, done_polls: int = 0
) -> dict[str, Any]:
    """Poll ISS job ``job_ref`` once and store it; re-schedule itself until it ends or the
    tracking deadline (``iss_track_deadline``) passes."""
    settings = runtime.current_settings()
    store = runtime.get_store(settings)
    external_id = resolve_external_id(store, job_ref)
    started = timestamps.parse_utc(started_at) or store_jobs.utcnow()
    try:
        with make_client(settings) as client:
            step = track_step(
                client, store, external_id, queue=settings.queue_iss, started=started,
                deadline_s=settings.iss_track_deadline, done_polls=done_polls,
            )  # fmt: skip
    except iss_errors.IssError as exc:
        if not iss_errors.is_transient(exc):
            record_failure(store, external_id, exc)
        raise
    outcome = step.outcome
    if step.gave_up:
        return {**outcome.as_dict(), "tracking": "gave up"}
    if outcome.settled:
        queued = queue_analysis(outcome.job_id)
        return {**outcome.as_dict(), "tracking": "done", "analysis_queued": queued}
    if self.request.is_eager:
        # Embedded mode has no broker to hold a countdown; the CLI follows the job itself.
        return {**outcome.as_dict(), "tracking": "embedded"}
    mark_tracked(store, external_id)
    self.apply_async(
        args=[external_id, started.isoformat(), step.done_polls],
        countdown=settings.iss_poll_interval,
    )
    return {**outcome.as_dict(), "tracking": "polling"}


@shared_task(name=SYNC_TASK, base=RetryingTask)
def sync_iss_jobs() -> dict[str, Any]:
    """Upsert ISS jobs changed since the last sync and start tracking unfinished ones (beat)."""
    settings = runtime.current_settings()
    if not iss_configured(settings):
        _warn_once("ISS sync skipped: " + NOT_CONFIGURED)
        return {"skipped": "ISS not configured"}
    store = runtime.get_store(settings)
    with make_client(settings) as client:
        counts, to_track = sync_jobs(
            client, store, queue=settings.queue_iss, stale_after_s=stale_after(settings)
        )
    return {**counts, "tracking": start_tracking(store, to_track, settings)}


def start_tracking(store: Store, external_ids: list[str], settings: Settings) -> int:
    """Queue a poll chain for each job (not in embedded mode); returns how many were queued."""
    if settings.embedded:
        return 0
    now = store_jobs.utcnow()
    for external_id in external_ids:
        mark_tracked(store, external_id, now)
        poll_iss_job.apply_async(
            args=[external_id, now.isoformat(), 0], countdown=settings.iss_poll_interval
        )
    return len(external_ids)
