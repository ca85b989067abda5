"""Intel Simulation Service reads, as the ``iss`` commands' ``--json`` prints them: jobs and
platforms as ISS lists them (through a client the caller builds and closes), a job's artifact
listing, and the ISS jobs the store tracks beside local ones.

ISS's own errors pass through (``iss_client.errors``: ``IssNotFoundError`` for an unknown id,
``IssError`` at the root): they are the remote service's answers, not the caller's input.
"""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING, Any

from jobprobe.queries import errors
from jobprobe.queries.filters import JobFilters

if TYPE_CHECKING:
    from jobprobe.iss_client import IssClient
    from jobprobe.store.db import Store


def file_kind(job_type: str) -> str:
    """The schema/file-service kind (iwps, isim, coho) of a kind or a job type (IWPS, ...)."""
    from jobprobe.iss_client import models

    if job_type.lower() in models.FILE_KINDS:
        return job_type.lower()
    return models.KIND_BY_TYPE.get(job_type, job_type.lower())


def iss_jobs(
    client: IssClient, *, status: str | None = None, job_type: str | None = None, limit: int = 20
) -> dict[str, Any]:
    """``{"jobs": [raw ISS job, ...]}``: at most ``limit`` jobs on ISS in ISS's order (of
    ``status`` and ``job_type`` when given)."""
    filters = {k: v for k, v in {"status": status, "job_type": job_type}.items() if v}
    found = islice(client.iter_jobs(page_size=min(limit, 100), **filters), limit)
    return {"jobs": [j.raw() for j in found]}


def iss_job(client: IssClient, job_id: str) -> dict[str, Any]:
    """One ISS job as ISS gives it (details, ``SubStates`` status history, ``Metadata``)."""
    return client.get_job(job_id).raw()


def iss_platforms(client: IssClient) -> dict[str, Any]:
    """``{"platforms": [raw platform, ...]}``: the platforms ISS offers."""
    return {"platforms": [p.raw() for p in client.list_platforms()]}


def iss_platform(client: IssClient, platform_id: str) -> dict[str, Any]:
    """One platform by PlatformID (or name)."""
    return client.get_platform(platform_id).raw()


def iss_files(client: IssClient, job_id: str, kind: str | None = None) -> dict[str, Any]:
    """``{"job", "kind", "files": [{"name", "path", "size", "type"}]}``: the job's artifacts
    (folders left out); ``kind`` from the job when not given."""
    from jobprobe.iss_client import models

    kind = file_kind(kind) if kind else models.artifact_kind(client.get_job(job_id).raw())
    files = [f for f in client.list_files(job_id, kind).files if not f.is_dir]
    listing = [{"name": f.name, "path": f.path, "size": f.size, "type": f.type} for f in files]
    return {"job": job_id, "kind": kind, "files": listing}


def tracked_jobs(
    store: Store, filters: JobFilters | None = None, *, limit: int = 20, cursor: str | None = None
) -> dict[str, Any]:
    """``queries.jobs.job_history`` of the ISS jobs the store mirrors (source ``iss``):
    ``{"jobs", "next_cursor"}``; each record has ``external_id`` (the ISS id) and ``raw``."""
    from dataclasses import replace

    from jobprobe.queries import jobs

    only_iss = replace(filters or JobFilters(), source="iss")
    return jobs.job_history(store, only_iss, limit=limit, cursor=cursor)


def tracked_job_id(store: Store, external_id: str) -> str:
    """The store's id of the mirrored ISS job ``external_id`` (e.g. JR-100003);
    ``NotFound`` says how to track it when it is not mirrored."""
    from jobprobe.store import iss_jobs

    with store.session() as session:
        job = iss_jobs.find_iss_job(session, external_id) or iss_jobs.find_iss_job(
            session, external_id.upper()
        )
        if job is None:
            raise errors.NotFound(
                f"no ISS job {external_id} is tracked; track it with "
                f"'jobprobe iss track {external_id}'"
            )
        return str(job.id)
