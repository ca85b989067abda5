"""Realistic ISS stand-in data: platforms, instances, jobs that advance over time, artifacts.

A job's status is computed from its creation time and the server's step length, so a job
created now walks ``requested -> queued -> ... -> done -> complete`` (or ends in ``error``)
without any background thread.
"""

from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

SUCCESS_PATH = (
    "requested",
    "queued",
    "allocating",
    "allocated",
    "booting",
    "inprogress",
    "done",
    "complete",
)
ERROR_PATH = ("requested", "queued", "allocating", "allocated", "booting", "inprogress", "error")
UNKNOWN_STATUS = "quarantined"  # a status no client knows, kept as is
UNKNOWN_TYPE = "QuantumSim"
JOB_TYPES = ("Instance", "WorkloadJob", "WorkloadJobROI", "IWPS", "ISIM", "NovaIWPS",
             "BiosValidation")  # fmt: skip
QUEUES = ("default", "priority", "batch")
USERS = ("asha.rao", "d.kim", "m.weber", "svc-regression")

PLATFORMS: tuple[dict[str, Any], ...] = (
    {
        "PlatformID": "gnr-ap-2s",
        "PlatformName": "GNR-AP",
        "PlatformType": "Simics",
        "Versions": {"Simics": "6.0.185", "Model": "2024.38.1", "BIOS": "GNR.0021.D62"},
        "Features": ["AMX", "AVX-512", "CXL 2.0", "MCR DIMM"],
        "MemorySize": "512GB",
        "Cores": 128,
        "Sockets": 2,
    },
    {
        "PlatformID": "srf-sp-1s",
        "PlatformName": "SRF-SP",
        "PlatformType": "Simics",
        "Versions": {"Simics": "6.0.185", "Model": "2024.35.0", "BIOS": "SRF.0013.D40"},
        "Features": ["AVX2", "E-core", "CXL 2.0"],
        "MemorySize": "256GB",
        "Cores": 144,
        "Sockets": 1,
    },
    {
        "PlatformID": "lnl-m",
        "PlatformName": "LNL-M",
        "PlatformType": "Simics",
        "Versions": {"Simics": "6.0.179", "Model": "2024.30.2"},
        "Features": ["P-core", "E-core", "NPU4", "Xe2"],
        "MemorySize": "32GB",
        "Cores": 8,
        "Sockets": 1,
    },
)

KIND_BY_TYPE = {"IWPS": "iwps", "NovaIWPS": "iwps", "ISIM": "isim"}


def kind_of(job_type: str) -> str:
    """The file-service kind (``iwps``, ``isim``, ``coho``) a job type's artifacts live under."""
    return KIND_BY_TYPE.get(job_type, "coho")


def make_png(width: int, height: int, seed: int) -> bytes:
    """A real RGB PNG: a stacked-bar 'CPI stack' picture with some noise (not compressible)."""
    rng = random.Random(seed)
    colors = [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(5)]
    bounds = sorted(rng.randrange(height) for _ in range(4))
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type None
        band = sum(1 for b in bounds if y >= b)
        r, g, b = colors[band]
        for _x in range(width):
            n = rng.randrange(24)
            rows += bytes(((r + n) % 256, (g + n) % 256, (b + n) % 256))

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 6))
        + chunk(b"IEND", b"")
    )


def iso(moment: datetime) -> str:
    """ISS-style UTC timestamp."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class DevJob:
    """One stand-in job; ``created`` is wall-clock time, ``path`` the statuses it walks."""

    job_id: str
    name: str
    type: str
    platform: str
    created: datetime
    requested_by: str
    queue: str
    path: tuple[str, ...] = SUCCESS_PATH
    parent_instance_id: str | None = None
    workload_job_roi_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def status_index(self, now: datetime, step_s: float) -> int:
        """Index into ``path`` reached at ``now`` when every status lasts ``step_s``."""
        elapsed = max(0.0, (now - self.created).total_seconds())
        return min(len(self.path) - 1, int(elapsed / step_s) if step_s > 0 else len(self.path))

    def status(self, now: datetime, step_s: float) -> str:
        """The job's status at ``now``."""
        return self.path[self.status_index(now, step_s)]

    def record(self, now: datetime, step_s: float, *, detail: bool = False) -> dict[str, Any]:
        """The job as ISS serves it (list shape, or the detail shape with ``detail=True``)."""
        index = self.status_index(now, step_s)
        status = self.path[index]
        entered = [self.created + timedelta(seconds=i * step_s) for i in range(index + 1)]
        allocated = "allocated" in self.path[: index + 1]
        rec: dict[str, Any] = {
            "JobRequestID": self.job_id,
            "Name": self.name,
            "Type": self.type,
            "JobRequestStatus": status,
            "JobRequestStatusDetails": _details(status),
            "TenantID": "tenant-simeng-01",
            "SubStates": [
                {"State": s, "EnteredOn": iso(t)}
                for s, t in zip(self.path[: index + 1], entered, strict=True)
            ],
            "Allocation": (
                {"InstanceID": f"inst-{self.job_id[-6:]}", "Host": "sim-node-07", "Cores": 16}
                if allocated
                else None
            ),
            "PlatformName": self.platform,
            "Queue": self.queue,
            "ParentInstanceID": self.parent_instance_id,
            "WorkloadJobROIID": self.workload_job_roi_id,
            "Metadata": {
                "RequestedOn": iso(self.created),
                "LastUpdatedOn": iso(entered[-1]),
                "RequestedBy": self.requested_by,
                "LastUpdatedBy": "iss-scheduler" if index else self.requested_by,
            },
            **self.extra,
        }
        if detail:
            rec.update(
                {
                    "Workload": {"Name": f"{self.name}-workload", "Binary": "spec_cpu2017/mcf"},
                    "TestCase": {"ID": f"TC-{self.job_id[-4:]}", "Suite": "perf-regression"},
                    "TargetPlatform": {"PlatformName": self.platform},
                    "Execution": {"Kind": kind_of(self.type), "MaxRuntimeMinutes": 240},
                    "ExecutionParameters": {"Threads": 16, "WarmupInstructions": 50_000_000},
                }
            )
        return rec


def _details(status: str) -> str:
    return {
        "error": "Simulation exited with code 3: model assertion in cache hierarchy",
        "complete": "Artifacts uploaded",
        "inprogress": "Simulation running",
    }.get(status, f"Job is {status}")


def seed_jobs(now: datetime, step_s: float, count: int, seed: int = 7) -> list[DevJob]:
    """``count`` jobs of every known type plus an unknown type and an unknown status.

    Creation times are spread over the last dozen steps, so some are finished, some running.
    """
    rng = random.Random(seed)
    jobs: list[DevJob] = []
    for i in range(count):
        job_type = UNKNOWN_TYPE if i == 1 else JOB_TYPES[i % len(JOB_TYPES)]
        path: tuple[str, ...] = ERROR_PATH if i % 9 == 4 else SUCCESS_PATH
        if i == 2:
            path = (UNKNOWN_STATUS,)
        jobs.append(
            DevJob(
                job_id=f"JR-{100000 + i:06d}",
                name=f"{job_type.lower()}-run-{i:03d}",
                type=job_type,
                platform=PLATFORMS[i % len(PLATFORMS)]["PlatformName"],
                created=now - timedelta(seconds=step_s * rng.uniform(0, 12)),
                requested_by=USERS[i % len(USERS)],
                queue=QUEUES[i % len(QUEUES)],
                path=path,
                parent_instance_id=f"inst-{i % 3:03d}" if job_type == "WorkloadJob" else None,
                workload_job_roi_id=f"roi-{i:04d}" if job_type == "WorkloadJobROI" else None,
            )
        )
    return jobs


INSTANCES: tuple[dict[str, Any], ...] = tuple(
    {
        "InstanceID": f"inst-{i:03d}",
        "InstanceName": f"{p['PlatformName'].lower()}-shared-{i}",
        "InstanceStatus": "running" if i != 2 else "stopped",
        "PlatformName": p["PlatformName"],
        "CreatedOn": "2026-11-20T08:00:00.000Z",
    }
    for i, p in enumerate(PLATFORMS)
)


def schema_for(kind: str, platform: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema of the job parameters of ``kind`` on ``platform``."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{kind.upper()} job on {platform['PlatformName']}",
        "type": "object",
        "required": ["Workload", "Threads"],
        "properties": {
            "Workload": {"type": "string"},
            "Threads": {"type": "integer", "minimum": 1, "maximum": platform["Cores"]},
            "WarmupInstructions": {"type": "integer", "default": 50_000_000},
            "Features": {"type": "array", "items": {"enum": platform["Features"]}},
        },
    }


def artifacts(job: DevJob, status: str) -> dict[str, bytes]:
    """The job's output files, available once it ended (``error`` keeps only ``sim.out``)."""
    if status not in {"done", "complete", "error"}:
        return {}
    seed = int(job.job_id.rsplit("-", 1)[-1]) if job.job_id[-1].isdigit() else len(job.job_id)
    rng = random.Random(seed)
    lines = [f"[{i * 0.25:8.2f}] cycle {i * 1_000_000} ipc={rng.uniform(0.6, 2.4):.3f}"
             for i in range(200)]  # fmt: skip
    files = {"sim.out": ("\n".join([f"# {job.name} on {job.platform}", *lines]) + "\n").encode()}
    if status == "error":
        return files
    profile = {
        "instructions": rng.randrange(10**9, 10**10),
        "cycles": rng.randrange(10**9, 10**10),
        "l2_mpki": round(rng.uniform(1, 30), 2),
        "llc_mpki": round(rng.uniform(0.1, 8), 2),
        "branch_mpki": round(rng.uniform(0.5, 9), 2),
    }
    files["sim.summary.profile"] = "".join(f"{k}: {v}\n" for k, v in profile.items()).encode()
    files["cpi-stack.png"] = make_png(160, 96, seed)
    return files


def logs(job: DevJob, status: str) -> dict[str, bytes]:
    """The job's log files, growing as it advances."""
    out = {"scheduler.log": f"{job.job_id} {status}\n".encode()}
    if status not in {"requested", "queued"}:
        out["console.log"] = f"booting {job.platform}\nstatus {status}\n".encode()
    return out
