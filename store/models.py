"""SQLAlchemy 2 models: jobs, their labels, samples, status events, sweeps and reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from jobprobe.store.columns import EnumText, Json, UtcDateTime
from jobprobe.store.status import JobSource, JobStatus, SweepStatus

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable migrations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Sweep(Base):
    """A group of jobs run across values of one parameter (a load sweep)."""

    __tablename__ = "sweeps"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tool: Mapped[str] = mapped_column(String(128))
    script_name: Mapped[str] = mapped_column(String(512))
    vary_name: Mapped[str] = mapped_column(String(128))
    vary_values: Mapped[list[Any]] = mapped_column(Json)
    repeat: Mapped[int] = mapped_column(Integer, default=1)
    params: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    labels: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    slo_p99_ms: Mapped[float | None] = mapped_column(Float)
    status: Mapped[SweepStatus] = mapped_column(
        EnumText(SweepStatus, 16), default=SweepStatus.RUNNING
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    jobs: Mapped[list[Job]] = relationship(back_populates="sweep", lazy="raise")


class Job(Base):
    """One job: a local run or a mirrored ISS job. Field names follow the Keystone record."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[JobSource] = mapped_column(EnumText(JobSource, 16), default=JobSource.LOCAL)
    external_id: Mapped[str | None] = mapped_column(String(128))
    tool: Mapped[str] = mapped_column(String(128))
    script_name: Mapped[str] = mapped_column(String(512), default="")
    script_content: Mapped[str | None] = mapped_column(Text)
    script_sha256: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    labels: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    queue: Mapped[str] = mapped_column(String(64))
    gpus: Mapped[int] = mapped_column(Integer, default=0)
    timeout_s: Mapped[float | None] = mapped_column(Float)
    profile_enabled: Mapped[bool] = mapped_column(default=True)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    status: Mapped[JobStatus] = mapped_column(EnumText(JobStatus, 16))
    returncode: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    duration_s: Mapped[float | None] = mapped_column(Float)
    queue_wait_s: Mapped[float | None] = mapped_column(Float)
    worker: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cpu_user_s: Mapped[float | None] = mapped_column(Float)
    cpu_system_s: Mapped[float | None] = mapped_column(Float)
    cpu_total_s: Mapped[float | None] = mapped_column(Float)
    memory_peak_mb: Mapped[float | None] = mapped_column(Float)
    detailed_profile: Mapped[dict[str, Any] | None] = mapped_column(Json)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(Json)
    host: Mapped[dict[str, Any] | None] = mapped_column(Json)
    workdir: Mapped[str | None] = mapped_column(String(1024))
    stdout_path: Mapped[str | None] = mapped_column(String(1024))
    stderr_path: Mapped[str | None] = mapped_column(String(1024))
    stdout_tail: Mapped[str | None] = mapped_column(Text)
    stderr_tail: Mapped[str | None] = mapped_column(Text)
    artifacts: Mapped[list[Any] | None] = mapped_column(Json)
    raw: Mapped[dict[str, Any] | None] = mapped_column(Json)
    sweep_id: Mapped[str | None] = mapped_column(ForeignKey("sweeps.id", ondelete="SET NULL"))
    # Limits asked at submit (migration 0003); None: no limit of that kind.
    mem_limit_bytes: Mapped[int | None] = mapped_column(BigInteger)
    cpu_limit: Mapped[float | None] = mapped_column(Float)
    max_procs: Mapped[int | None] = mapped_column(Integer)
    # How the job was contained and counted (accounting, leaked processes, limits applied).
    containment: Mapped[dict[str, Any] | None] = mapped_column(Json)
    # The current attempt's lease (migration 0004): renewed by its worker while the job runs;
    # once past, the attempt counts as gone. ``attempts`` is the fencing token.
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # When reconciliation last published the job again (None: only by its submitter).
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    sweep: Mapped[Sweep | None] = relationship(back_populates="jobs", lazy="raise")

    __table_args__ = (
        Index("ix_jobs_submitted", "submitted_at", "id"),
        Index("ix_jobs_status_submitted", "status", "submitted_at"),
        Index("ix_jobs_tool_submitted", "tool", "submitted_at"),
        # job-stats by tool: an index-only scan. On PostgreSQL migration 0002 makes it cover
        # (INCLUDE status, duration_s, cpu_total_s, memory_peak_mb, queue_wait_s); that is
        # written there only, since a postgresql_* argument here would import the PostgreSQL
        # dialect into every process, the SQLite ones included.
        Index("ix_jobs_tool_stats", "tool"),
        Index("ix_jobs_queue_submitted", "queue", "submitted_at"),
        Index("ix_jobs_source_external", "source", "external_id", unique=True),
        Index("ix_jobs_sweep", "sweep_id"),
        Index("ix_jobs_status_lease", "status", "lease_expires_at"),
        # The workers seen lately: running jobs or jobs changed since (migration 0006).
        Index("ix_jobs_updated", "updated_at"),
    )


class JobLabel(Base):
    """One label of a job, kept as rows so label filters use an index."""

    __tablename__ = "job_labels"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(String(512))

    __table_args__ = (Index("ix_job_labels_key_value", "key", "value", "job_id"),)


class StatusEvent(Base):
    """A timestamped status change of a job."""

    __tablename__ = "status_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    status: Mapped[JobStatus] = mapped_column(EnumText(JobStatus, 32))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_status_events_job", "job_id", "at"),)


class Sample(Base):
    """One profiler sample of a running job."""

    __tablename__ = "samples"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    t: Mapped[datetime] = mapped_column(UtcDateTime())
    elapsed_s: Mapped[float | None] = mapped_column(Float)
    cpu_percent: Mapped[float | None] = mapped_column(Float)
    load1: Mapped[float | None] = mapped_column(Float)
    mem_used_mb: Mapped[float | None] = mapped_column(Float)
    mem_percent: Mapped[float | None] = mapped_column(Float)
    swap_used_mb: Mapped[float | None] = mapped_column(Float)
    proc_cpu_percent: Mapped[float | None] = mapped_column(Float)
    proc_cpu_seconds: Mapped[float | None] = mapped_column(Float)
    proc_rss_mb: Mapped[float | None] = mapped_column(Float)
    proc_count: Mapped[int | None] = mapped_column(Integer)
    proc_threads: Mapped[int | None] = mapped_column(Integer)
    proc_read_bytes: Mapped[int | None] = mapped_column(BigInteger)
    proc_write_bytes: Mapped[int | None] = mapped_column(BigInteger)
    proc_read_bps: Mapped[float | None] = mapped_column(Float)
    proc_write_bps: Mapped[float | None] = mapped_column(Float)
    disk_read_bps: Mapped[float | None] = mapped_column(Float)
    disk_write_bps: Mapped[float | None] = mapped_column(Float)
    net_sent_bps: Mapped[float | None] = mapped_column(Float)
    net_recv_bps: Mapped[float | None] = mapped_column(Float)
    gpu_util_percent: Mapped[float | None] = mapped_column(Float)
    gpu_mem_used_mb: Mapped[float | None] = mapped_column(Float)
    gpu_power_w: Mapped[float | None] = mapped_column(Float)
    gpu_temp_c: Mapped[float | None] = mapped_column(Float)
    container_cpu_percent: Mapped[float | None] = mapped_column(Float)
    container_mem_mb: Mapped[float | None] = mapped_column(Float)
    extra: Mapped[dict[str, Any] | None] = mapped_column(Json)

    __table_args__ = (Index("ix_samples_job_t", "job_id", "t"),)


class Report(Base):
    """A stored analysis report (job, sweep, comparison or insight)."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    sweep_id: Mapped[str | None] = mapped_column(ForeignKey("sweeps.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    body: Mapped[dict[str, Any]] = mapped_column(Json)
    markdown: Mapped[str | None] = mapped_column(Text)
    path: Mapped[str | None] = mapped_column(String(1024))

    __table_args__ = (
        Index("ix_reports_job", "job_id", "kind"),
        Index("ix_reports_sweep", "sweep_id", "kind"),
    )


class SyncState(Base):
    """Small key/value state of periodic tasks (e.g. the last ISS sync time)."""

    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Conversation(Base):
    """A conversation of ``jobprobe ask`` (a chat session): its turns and the entities in context.

    ``turns`` holds, per question, the question, the answer, the tool calls with their compact
    results and the entities the turn used; ``context`` the entities a follow-up inherits. A
    session untouched for longer than the ``chat_session_hours`` setting counts as unknown.
    """

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    provider: Mapped[str] = mapped_column(String(32))
    turns: Mapped[list[Any]] = mapped_column(Json, default=list)
    context: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)

    __table_args__ = (Index("ix_conversations_updated", "updated_at"),)
