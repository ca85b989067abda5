"""Request routing of the ISS stand-in: pure functions from (path, query) to an answer."""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from jobprobe.iss_client.devserver import data

if TYPE_CHECKING:
    from jobprobe.iss_client.devserver.server import DevServer

Answer = tuple[int, Any, str]  # status, JSON-able body or bytes, content type

JOB_FILTERS = {
    "JobRequestStatus": "JobRequestStatus",
    "JobRequestID": "JobRequestID",
    "Type": "Type",
    "Queue": "Queue",
    "RequestedBy": "RequestedBy",
    "ParentInstanceID": "ParentInstanceID",
    "WorkloadJobROIID": "WorkloadJobROIID",
}
JSON = "application/json"


def _err(status: int, message: str) -> Answer:
    return status, {"message": message}, JSON


def route(dev: DevServer, path: str, query: dict[str, str]) -> Answer:
    """Answer one authenticated GET under ``/v1/`` or ``/fs/files/``."""
    parts = [p for p in path.split("/") if p]
    if parts[0] == "fs":
        return _files(dev, parts[2:])
    rest = parts[1:]
    match rest:
        case ["jobs"]:
            return _list_jobs(dev, query)
        case ["jobs", "job", job_id]:
            job = dev.jobs.get(job_id)
            if job is None:
                return _err(404, f"Job {job_id} not found")
            return 200, job.record(dev.now(), dev.step_s, detail=True), JSON
        case ["jobs", kind, platform_name, "schema"]:
            platform = _platform(platform_name)
            if kind not in {"iwps", "isim", "coho"} or platform is None:
                return _err(404, f"No {kind} schema for platform {platform_name}")
            return 200, data.schema_for(kind, platform), JSON
        case ["platforms"]:
            return 200, {"Platforms": list(data.PLATFORMS)}, JSON
        case ["platforms", "platform", platform_id]:
            platform = _platform(platform_id)
            if platform is None:
                return _err(404, f"Platform {platform_id} not found")
            return 200, platform, JSON
        case ["instances"]:
            return 200, {"Instances": list(data.INSTANCES)}, JSON
        case ["instances", "instance", instance_id]:
            for inst in data.INSTANCES:
                if inst["InstanceID"] == instance_id:
                    return 200, inst, JSON
            return _err(404, f"Instance {instance_id} not found")
    return _err(404, f"no route for {path}")


def _platform(key: str) -> dict[str, Any] | None:
    for p in data.PLATFORMS:
        if key in (p["PlatformID"], p["PlatformName"]):
            return p
    return None


def _list_jobs(dev: DevServer, query: dict[str, str]) -> Answer:
    try:
        limit = int(query.get("Limit", "100"))
    except ValueError:
        return _err(400, "Limit must be an integer")
    if not 1 <= limit <= 100:
        return _err(400, "Limit must be between 1 and 100")
    start = 0
    if query.get("ContinuationToken"):
        try:
            start = int(json.loads(base64.urlsafe_b64decode(query["ContinuationToken"]))["o"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            return _err(400, "invalid ContinuationToken")
    now = dev.now()
    records = [job.record(now, dev.step_s) for job in list(dev.jobs.values())]
    wanted = {field: query[name] for name, field in JOB_FILTERS.items() if name in query}
    matching = [r for r in records if all(str(r.get(f)) == v for f, v in wanted.items())]
    page = matching[start : start + limit]
    token = None
    if start + limit < len(matching):
        token = base64.urlsafe_b64encode(json.dumps({"o": start + limit}).encode()).decode()
    return 200, {"Jobs": page, "Count": len(page), "ContinuationToken": token}, JSON


def _files(dev: DevServer, parts: list[str]) -> Answer:
    if not parts or parts[0] not in dev.jobs:
        return _err(404, "Job not found")
    job = dev.jobs[parts[0]]
    status = job.status(dev.now(), dev.step_s)
    rest = parts[1:]
    if rest[:1] == ["logs"]:
        logs = data.logs(job, status)
        if len(rest) == 1:
            children = [{"name": n, "size": len(b), "type": "file"} for n, b in logs.items()]
            return 200, {"children": children}, JSON
        name = "/".join(rest[1:])
        if name not in logs:
            return _err(404, f"Log {name} not found")
        return 200, logs[name], "text/plain; charset=utf-8"
    if len(rest) < 3 or rest[1:3] != ["artifacts", "out"] or rest[0] != data.kind_of(job.type):
        return _err(404, "No such artifact folder")
    files = data.artifacts(job, status)
    name = "/".join(rest[3:])
    if not name:
        listing = [{"name": n, "path": n, "size": len(b), "type": "file"} for n, b in files.items()]
        return 200, {"files": listing}, JSON
    if name not in files:
        return _err(404, f"File {name} not found")
    ctype = "image/png" if name.endswith(".png") else "text/plain; charset=utf-8"
    return 200, files[name], ctype
