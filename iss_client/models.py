"""Pydantic models of ISS responses.

Every model keeps unknown fields (``extra="allow"``) and the status and type fields are plain
strings, so a job of a type or status this code has never heard of is kept, not dropped.
``model_dump(by_alias=True, mode="json")`` gives back the record in ISS's own field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, model_validator

from jobprobe.store import timestamps


def _to_str(value: Any) -> Any:
    """ISS ids arrive as strings or numbers; keep them as strings."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


IssId = Annotated[str, BeforeValidator(_to_str)]


class JobStatus(StrEnum):
    """Job statuses known today; ``Job.status`` stays a plain string for the unknown ones."""

    REQUESTED = "requested"
    QUEUED = "queued"
    ALLOCATING = "allocating"
    ALLOCATED = "allocated"
    BOOTING = "booting"
    INPROGRESS = "inprogress"
    CHECKPOINTING = "checkpointing"
    ERROR = "error"
    DONE = "done"
    RELEASING = "releasing"
    RELEASED = "released"
    COMPLETE = "complete"


class JobType(StrEnum):
    """Job types known today; ``Job.type`` stays a plain string for the unknown ones."""

    INSTANCE = "Instance"
    WORKLOAD_JOB = "WorkloadJob"
    WORKLOAD_JOB_ROI = "WorkloadJobROI"
    IWPS = "IWPS"
    ISIM = "ISIM"
    NOVA_IWPS = "NovaIWPS"
    BIOS_VALIDATION = "BiosValidation"


KNOWN_STATUSES: frozenset[str] = frozenset(s.value for s in JobStatus)
KNOWN_JOB_TYPES: frozenset[str] = frozenset(t.value for t in JobType)
#: Statuses a job does not leave for work of its own.
TERMINAL_STATUSES: frozenset[str] = frozenset(
    {JobStatus.ERROR, JobStatus.DONE, JobStatus.RELEASED, JobStatus.COMPLETE}
)
#: Terminal statuses after which nothing more happens: "done" is terminal too, but ISS usually
#: moves on to "complete" once the artifacts are uploaded.
SETTLED_STATUSES: frozenset[str] = TERMINAL_STATUSES - {JobStatus.DONE}
FILE_KINDS: frozenset[str] = frozenset({"iwps", "isim", "coho"})
#: The file-service kind of each job type that has its own (every other type's is "coho").
KIND_BY_TYPE: dict[str, str] = {
    JobType.IWPS: "iwps",
    JobType.NOVA_IWPS: "iwps",
    JobType.ISIM: "isim",
}


def artifact_kind(raw: Mapping[str, Any]) -> str:
    """The file-service kind of a job (its raw record): ``Execution.Kind`` when ISS says, else
    the kind of its type."""
    execution = raw.get("Execution")
    if isinstance(execution, Mapping) and execution.get("Kind"):
        return str(execution["Kind"]).lower()
    return KIND_BY_TYPE.get(str(raw.get("Type") or ""), "coho")


def parse_timestamp(value: object) -> datetime | None:
    """An ISS ISO-8601 timestamp as an aware datetime (one without an offset is UTC); None when
    absent or not understood."""
    return timestamps.parse_utc(value)


class IssModel(BaseModel):
    """Base of all ISS models: unknown fields are kept, ISS names and snake_case both accepted."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def raw(self) -> dict[str, Any]:
        """The record as ISS sent it (ISS field names, unknown fields included), JSON-ready."""
        return self.model_dump(by_alias=True, mode="json", exclude_unset=True)


class JobMetadata(IssModel):
    """Who requested and last updated a job, and when (timestamps kept as sent)."""

    requested_on: str | None = Field(default=None, alias="RequestedOn")
    last_updated_on: str | None = Field(default=None, alias="LastUpdatedOn")
    requested_by: str | None = Field(default=None, alias="RequestedBy")
    last_updated_by: str | None = Field(default=None, alias="LastUpdatedBy")


class Job(IssModel):
    """One ISS job request; detail fields are only filled by ``get_job``."""

    job_id: IssId = Field(alias="JobRequestID")
    name: str | None = Field(default=None, alias="Name")
    type: str | None = Field(default=None, alias="Type")
    status: str | None = Field(default=None, alias="JobRequestStatus")
    status_details: Any = Field(default=None, alias="JobRequestStatusDetails")
    tenant_id: IssId | None = Field(default=None, alias="TenantID")
    sub_states: Any = Field(default=None, alias="SubStates")
    allocation: Any = Field(default=None, alias="Allocation")
    platform_name: str | None = Field(default=None, alias="PlatformName")
    metadata: JobMetadata | None = Field(default=None, alias="Metadata")
    workload: Any = Field(default=None, alias="Workload")
    test_case: Any = Field(default=None, alias="TestCase")
    target_platform: Any = Field(default=None, alias="TargetPlatform")
    execution: Any = Field(default=None, alias="Execution")
    execution_parameters: Any = Field(default=None, alias="ExecutionParameters")

    @property
    def is_terminal(self) -> bool:
        """True once the job reached a status it will not leave."""
        return (self.status or "").lower() in TERMINAL_STATUSES

    @property
    def is_known_status(self) -> bool:
        """False for a status this client does not know (kept as sent)."""
        return (self.status or "").lower() in KNOWN_STATUSES

    @property
    def is_known_type(self) -> bool:
        """False for a job type this client does not know (kept as sent)."""
        return (self.type or "") in KNOWN_JOB_TYPES

    @property
    def requested_at(self) -> datetime | None:
        """``Metadata.RequestedOn`` parsed, or None."""
        return parse_timestamp(self.metadata.requested_on if self.metadata else None)

    @property
    def updated_at(self) -> datetime | None:
        """``Metadata.LastUpdatedOn`` parsed, or None."""
        return parse_timestamp(self.metadata.last_updated_on if self.metadata else None)


class JobPage(IssModel):
    """One page of ``GET /v1/jobs``; ``continuation_token`` is None on the last page."""

    jobs: list[Job] = Field(default_factory=list, alias="Jobs")
    count: int | None = Field(default=None, alias="Count")
    continuation_token: str | None = Field(default=None, alias="ContinuationToken")


class Platform(IssModel):
    """A simulated platform (e.g. a Simics model of a server part)."""

    platform_id: IssId = Field(alias="PlatformID")
    platform_name: str | None = Field(default=None, alias="PlatformName")
    platform_type: str | None = Field(default=None, alias="PlatformType")
    versions: Any = Field(default=None, alias="Versions")
    features: Any = Field(default=None, alias="Features")
    memory_size: Any = Field(default=None, alias="MemorySize")


class PlatformList(IssModel):
    """``GET /v1/platforms``."""

    platforms: list[Platform] = Field(default_factory=list, alias="Platforms")


class Instance(IssModel):
    """A running or stopped simulation instance."""

    instance_id: IssId = Field(alias="InstanceID")
    name: str | None = Field(default=None, alias="InstanceName")
    status: str | None = Field(default=None, alias="InstanceStatus")
    platform_name: str | None = Field(default=None, alias="PlatformName")


class InstanceList(IssModel):
    """``GET /v1/instances``."""

    instances: list[Instance] = Field(default_factory=list, alias="Instances")


class FileEntry(IssModel):
    """One file or folder in a file-service listing (a bare string is taken as its name)."""

    name: str
    path: str | None = None
    size: int | None = None
    type: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_bare_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @property
    def is_dir(self) -> bool:
        """True for a folder entry."""
        return (self.type or "").lower() in {"dir", "directory", "folder"}

    def artifact(self, kind: str) -> dict[str, Any]:
        """The entry as a job artifact (name, path, size, type, kind), as the store keeps it."""
        return {"name": self.name, "path": self.path or self.name, "size": self.size,
                "type": self.type or "file", "kind": kind}  # fmt: skip


class FileList(IssModel):
    """``GET /fs/files/{job}/{kind}/artifacts/out[/path]``."""

    files: list[FileEntry] = Field(default_factory=list)


class LogList(IssModel):
    """``GET /fs/files/{job}/logs``."""

    children: list[FileEntry] = Field(default_factory=list)


class Token(IssModel):
    """An OAuth2 token response; ``access_token`` is never part of its repr."""

    access_token: SecretStr
    token_type: str | None = None
    expires_in: float | None = None
