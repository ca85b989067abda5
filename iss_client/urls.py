"""Building ISS URLs and queries safely: quoted path segments, no dot segments."""

from __future__ import annotations

from typing import TypedDict
from urllib.parse import quote


class JobFilters(TypedDict, total=False):
    """Filters of ``GET /v1/jobs``, by their Python names."""

    status: str
    job_request_id: str
    job_type: str
    queue: str
    requested_by: str
    parent_instance_id: str
    workload_job_roi_id: str


FILTER_PARAMS: dict[str, str] = {
    "status": "JobRequestStatus",
    "job_request_id": "JobRequestID",
    "job_type": "Type",
    "queue": "Queue",
    "requested_by": "RequestedBy",
    "parent_instance_id": "ParentInstanceID",
    "workload_job_roi_id": "WorkloadJobROIID",
}


def base_url(url: str, suffix: str) -> str:
    """``url`` without a trailing slash or ``suffix`` (so ``h`` and ``h/v1`` both work)."""
    url = url.rstrip("/")
    return url[: -len(suffix)] if url.endswith(suffix) else url


def segment(value: str, what: str) -> str:
    """One URL path segment, quoted; rejects empty values and dot segments."""
    if not value or value in {".", ".."} or "/" in value:
        raise ValueError(f"invalid ISS {what}: {value!r}")
    return quote(value, safe="")


def file_path(path: str) -> str:
    """A relative file-service path, every segment checked (no '..', no absolute paths)."""
    parts = [p for p in path.strip("/").split("/") if p]
    for part in parts:
        if part in {".", ".."}:
            raise ValueError(f"invalid ISS file path: {path!r}")
    return "/".join(quote(p, safe="") for p in parts)
