"""jobprobe's one configuration object.

Only entry points (the Celery app module and ``cli.py``) build it. Precedence is
argument > environment (``JOBPROBE_*``) > default, resolved here and nowhere else.

``Settings`` is a pydantic model that reads the environment itself (``_from_environment``):
what pydantic-settings would do for these flat, scalar settings, without its import (230
million instructions, about 40 ms, on every command; measured with callgrind).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from jobprobe.monitor.job_uids import UidRange, parse_range
from jobprobe.worker import errors, locations, secrets

ENV_PREFIX = locations.ENV_PREFIX


class Settings(BaseModel):
    """Everything a jobprobe process can be configured with (env prefix ``JOBPROBE_``).

    ``Settings(**values)`` reads the environment for every setting not given as an argument.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**_from_environment(os.environ), **values})

    broker_url: str | None = Field(
        None,
        description="Celery broker URL (redis://...). Unset: embedded mode, jobs run in-process.",
    )
    result_backend: str | None = Field(
        None, description="Celery result backend. Default: the broker URL when it is Redis."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the store (postgresql+psycopg://...). "
        "Default: SQLite at DATA_DIR/jobprobe.db.",
    )
    data_dir: Path = Field(
        default_factory=locations.default_data_dir,
        description="Where the SQLite store, job working directories and the spool live.",
    )
    min_free_mb: float = Field(
        100.0,
        ge=0,
        description="Free space (MB) a worker's data directory needs: below it the worker fails "
        "the job in hand with the reason and takes no jobs until there is space again.",
    )
    disk_check_seconds: float = Field(
        5.0,
        gt=0,
        le=3600,
        description="Seconds between a worker's checks of its data directory's free space.",
    )
    job_dir_retention_hours: float = Field(
        168.0,
        gt=0,
        description="Hours a job's working directory (logs, files it left) is kept on its "
        "worker after it last changed; then the worker's housekeeping removes it.",
    )
    log_max_mb: float = Field(
        100.0,
        gt=0,
        description="Largest log (MB) kept of a finished job's stdout or stderr on its worker: "
        "a larger one keeps its first and last halves, with a note between them.",
    )
    tools_file: Path | None = Field(
        None,
        description="TOML tool registry. Default: DATA_DIR/tools.toml if present, else the bundled one.",
    )
    sample_interval: float = Field(
        0.5, ge=0.05, le=60, description="Seconds between profiler samples (0.05 to 60)."
    )
    sample_flush_seconds: float = Field(
        0.5,
        gt=0,
        le=60,
        description="How often samples of a running job are written to the store (the live "
        "line, the dashboard's charts and /metrics see them then).",
    )
    default_timeout: float = Field(
        3600.0,
        gt=0,
        description="Job timeout in seconds when neither the tool nor submit sets one.",
    )
    max_timeout: float = Field(
        86400.0, gt=0, description="Longest timeout a job may ask for (seconds)."
    )
    kill_grace: float = Field(
        10.0,
        ge=0,
        description="Seconds between SIGTERM and SIGKILL when a job times out or is cancelled.",
    )
    visibility_timeout: float | None = Field(
        None,
        gt=0,
        description="Redis visibility timeout (seconds) before an unacknowledged job is delivered "
        "again. Default: MAX_TIMEOUT plus 10 minutes, so long jobs never run twice.",
    )
    max_attempts: int = Field(
        3, ge=1, description="Deliveries of one job (after worker loss) before it ends as lost."
    )
    lease_seconds: float = Field(
        30.0,
        ge=1,
        le=3600,
        description="Lease of a running job's attempt (seconds): its worker renews it while the "
        "job runs; once it expires the attempt counts as gone and the job runs again.",
    )
    reconcile_interval: float = Field(
        15.0,
        ge=0.5,
        le=3600,
        description="Seconds between reconciliation sweeps (beat and every worker): jobs whose "
        "lease expired, queued jobs no message delivers, cancelled jobs whose worker is gone.",
    )
    requeue_after: float = Field(
        60.0,
        ge=1,
        description="Seconds a job may stay queued, unclaimed, before reconciliation publishes "
        "it again (a broker that lost its messages, a client killed before publishing).",
    )
    max_script_bytes: int = Field(
        1_048_576, gt=0, description="Largest script submit sends with a job (bytes)."
    )
    result_expires: int = Field(
        86400,
        gt=0,
        description="Seconds Celery keeps task results (job records live in the store).",
    )
    queue_cpu: str = Field("cpu", description="Queue of CPU jobs.")
    queue_gpu: str = Field("gpu", description="Queue of jobs that ask for GPUs.")
    queue_iss: str = Field("iss", description="Queue of ISS polling tasks.")
    queue_analysis: str = Field("analysis", description="Queue of follow-up analysis tasks.")
    docker_host: str | None = Field(
        None,
        validation_alias=AliasChoices("JOBPROBE_DOCKER_HOST", "DOCKER_HOST"),
        description="Docker Engine URL for container tools (default: DOCKER_HOST or the local socket).",
    )
    # ISS (Intel Simulation Service); the existing unprefixed variable names are accepted too.
    iss_api_url: str | None = Field(
        None,
        validation_alias=AliasChoices("JOBPROBE_ISS_API_URL", "ISS_API_URL"),
        description="ISS API base URL (…/v1 is appended by the client).",
    )
    iss_files_url: str | None = Field(
        None,
        validation_alias=AliasChoices("JOBPROBE_ISS_FILES_URL", "ISS_FILES_URL"),
        description="ISS file-service base URL. Default: the API URL.",
    )
    iss_token_url: str | None = Field(
        None,
        validation_alias=AliasChoices("JOBPROBE_ISS_TOKEN_URL", "AUTH_DOMAIN"),
        description="OAuth2 token URL (client-credentials).",
    )
    iss_client_id: str | None = Field(
        None,
        validation_alias=AliasChoices("JOBPROBE_ISS_CLIENT_ID", "CLIENT_ID"),
        description="ISS OAuth2 client id.",
    )
    iss_client_secret: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("JOBPROBE_ISS_CLIENT_SECRET", "CLIENT_SECRET"),
        description="ISS OAuth2 client secret.",
    )
    iss_secret_name: str | None = Field(
        None,
        validation_alias=AliasChoices("JOBPROBE_ISS_SECRET_NAME", "CLIENT_SECRET_NAME"),
        description="AWS Secrets Manager secret holding client_id/client_secret (JSON).",
    )
    iss_aws_access_key_id: str | None = Field(
        None,
        validation_alias=AliasChoices("JOBPROBE_ISS_AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID_ISS"),
        description="AWS access key of the ISS account (for Secrets Manager).",
    )
    iss_aws_secret_access_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "JOBPROBE_ISS_AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY_ISS"
        ),
        description="AWS secret key of the ISS account.",
    )
    iss_aws_region: str | None = Field(
        None,
        validation_alias=AliasChoices("JOBPROBE_ISS_AWS_REGION", "AWS_REGION_ISS"),
        description="AWS region of the ISS secret.",
    )
    iss_aws_endpoint_url: str | None = Field(
        None, description="Secrets Manager endpoint override (tests, private endpoints)."
    )
    iss_poll_interval: float = Field(
        30.0, gt=0, description="Seconds between polls of one tracked ISS job."
    )
    iss_track_deadline: float = Field(
        7 * 86400.0, gt=0, description="Give up tracking an ISS job after this many seconds."
    )
    iss_sync_interval: float = Field(
        300.0, gt=0, description="Seconds between beat-driven ISS syncs."
    )
    llm_provider: str = Field(
        "none", description="Insight provider: none (offline), openai or bedrock."
    )
    llm_base_url: str | None = Field(None, description="OpenAI-compatible base URL (…/v1).")
    llm_api_key: SecretStr | None = Field(
        None, description="API key for the OpenAI-compatible endpoint."
    )
    llm_model: str | None = Field(None, description="Model name or Bedrock model id.")
    llm_timeout: float = Field(60.0, gt=0, description="Seconds to wait for the language model.")
    llm_region: str | None = Field(None, description="AWS region for Bedrock.")
    llm_endpoint_url: str | None = Field(None, description="Bedrock endpoint override.")
    cgroup_parent: str | None = Field(
        None,
        description="Control group under which each job gets its own group: a path relative to "
        "the worker's own group in each hierarchy, or an absolute path in the hierarchy that lies "
        "beneath it. Default: jobprobe (e.g. /sys/fs/cgroup/memory/<own group>/jobprobe).",
    )
    default_mem: str | None = Field(
        None, description="Memory limit of a job when neither submit nor its tool sets one (4G)."
    )
    default_cpus: float | None = Field(
        None,
        gt=0,
        description="CPU quota of a job (cores, e.g. 1.5) when neither submit nor its "
        "tool sets one.",
    )
    default_max_procs: int | None = Field(
        None, ge=1, description="Task limit of a job when neither submit nor its tool sets one."
    )
    job_user: str | None = Field(
        None,
        min_length=1,
        description="Account process jobs run as when the worker is root (a tool's `user` may "
        "name another); `worker` runs them as the worker's own user. The account must exist. "
        "Default: `jobprobe-job` on workers (a broker is set); in embedded mode your jobs run "
        "in your own process, as you.",
    )
    job_uids: str = Field(
        "1900000000-1900065535",
        description="Uids (FIRST-LAST) from which each job of the job account gets one of its "
        "own while it runs, so that concurrent jobs cannot read each other's files or processes; "
        "`off`: all its jobs share the account's uid.",
    )
    reports_dir: Path | None = Field(
        None,
        description="Where follow-up tasks write job and sweep reports (Markdown, JSON, PNG). "
        "Default: DATA_DIR/reports.",
    )
    web_host: str = Field(
        "127.0.0.1", min_length=1, description="Address `jobprobe serve` listens on."
    )
    web_port: int = Field(8040, ge=0, le=65535, description="Port `jobprobe serve` listens on.")
    web_read_token: SecretStr | None = Field(
        None,
        description="Bearer token for reading the web API and pages from beyond loopback. "
        "Unset: reading is allowed from loopback only.",
    )
    web_write_token: SecretStr | None = Field(
        None,
        description="Bearer token for changing state over the web (submit, cancel). Unset: "
        "nothing can be changed over the web.",
    )
    flower_url: str | None = Field(
        None, description="Flower's address, linked from the dashboard's workers page."
    )
    chat_session_hours: float = Field(
        24.0, gt=0, description="Hours a `jobprobe ask` conversation is kept after its last turn."
    )
    chat_max_tool_calls: int = Field(
        8, ge=1, le=64, description="Tool calls the language model may make for one question."
    )
    chat_tool_result_tokens: int = Field(
        3000,
        ge=200,
        description="Token budget of one tool result handed to the language model (compacted).",
    )

    @field_validator("broker_url", "database_url", "result_backend", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return locations.blank_is_unset(value) if isinstance(value, str) else value

    @field_validator("queue_cpu", "queue_gpu", "queue_iss", "queue_analysis")
    @classmethod
    def _queue_named(cls, value: str) -> str:
        if not value.strip() or value != value.strip():
            raise ValueError("a queue needs a name without surrounding spaces")
        return value

    @field_validator("job_uids")
    @classmethod
    def _uid_range(cls, value: str) -> str:
        parse_range(value)  # ValueError: one line naming the setting
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        return locations.check_database_url(value)

    def check(self) -> None:
        """Refuse settings that cannot work together: one SettingsError line naming the setting.

        A broker without a database URL (this process would use SQLite while the workers use
        their own store), a visibility timeout below the longest job (it would run twice), a
        default timeout above the maximum, a data directory that cannot be made.
        """
        locations.check_broker_has_database(self.broker_url, self.database_url)
        if self.visibility_timeout is not None and self.visibility_timeout < self.max_timeout:
            raise errors.SettingsError(
                f"JOBPROBE_VISIBILITY_TIMEOUT: {self.visibility_timeout:g} s is below "
                f"JOBPROBE_MAX_TIMEOUT ({self.max_timeout:g} s): a longer job would be delivered "
                "again while it runs; raise it or leave it unset"
            )
        if self.default_timeout > self.max_timeout:
            raise errors.SettingsError(
                f"JOBPROBE_DEFAULT_TIMEOUT: {self.default_timeout:g} s is above "
                f"JOBPROBE_MAX_TIMEOUT ({self.max_timeout:g} s); lower it or raise the maximum"
            )
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise errors.SettingsError(
                f"JOBPROBE_DATA_DIR: cannot create {self.data_dir} "
                f"({exc.strerror or type(exc).__name__}); set it to a folder this user can write"
            ) from exc
        if not self.data_dir.is_dir():
            raise errors.SettingsError(
                f"JOBPROBE_DATA_DIR: {self.data_dir} is not a folder; set it to a folder"
            )

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: jobs run in-process."""
        return self.broker_url is None

    @property
    def resolved_job_user(self) -> str:
        """The account process jobs run as: the setting, else ``jobprobe-job`` on a worker that
        takes jobs from a broker (its jobs come from others and must not read its secrets),
        else ``worker``: an embedded job is the user's own, run in the user's own process."""
        if self.job_user is not None:
            return self.job_user
        return "worker" if self.embedded else "jobprobe-job"

    @property
    def job_uid_range(self) -> UidRange | None:
        """``job_uids`` parsed (None: off)."""
        return parse_range(self.job_uids)

    @property
    def resolved_database_url(self) -> str:
        """The store URL: the configured one, or SQLite under the data directory."""
        return locations.database_url(self.database_url, self.data_dir)

    @property
    def resolved_visibility_timeout(self) -> float:
        """Redis visibility timeout, always longer than the longest allowed job."""
        if self.visibility_timeout is not None:
            return self.visibility_timeout
        return self.max_timeout + 600.0

    @property
    def resolved_reports_dir(self) -> Path:
        """The directory reports are written under."""
        return self.reports_dir if self.reports_dir is not None else self.data_dir / "reports"

    @property
    def resolved_tools_file(self) -> Path | None:
        """The tool registry to load, or None for the bundled default."""
        return locations.tools_file(self.tools_file, self.data_dir)


def _env_names(name: str, alias: object) -> list[str]:
    """The variables a setting is read from: its alias choices, else ``JOBPROBE_<NAME>``."""
    if isinstance(alias, AliasChoices):
        return [str(choice).upper() for choice in alias.choices]
    return [f"{ENV_PREFIX}{name}".upper()]


#: Settings that may be read from a file named by ``<VARIABLE>_FILE`` (its content is the value),
#: so that a secret need not sit in the worker's environment.
FILE_SETTINGS = frozenset(
    {"broker_url", "result_backend", "database_url", "iss_client_secret", "llm_api_key",
     "iss_aws_secret_access_key", "web_read_token", "web_write_token"}
)  # fmt: skip


def _from_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Each setting's value from ``environ``, names matched without regard to case.

    A setting of ``FILE_SETTINGS`` not set itself is read from the file its ``..._FILE``
    variable names (``JOBPROBE_DATABASE_URL_FILE=/run/secrets/db``).
    """
    upper = {key.upper(): value for key, value in environ.items()}
    values: dict[str, str] = {}
    for name, field in Settings.model_fields.items():
        names = _env_names(name, field.validation_alias)
        value = locations.env_value(upper, names, from_file=name in FILE_SETTINGS)
        if value is not None:
            values[name] = value
    return values


def load_settings(**overrides: Any) -> Settings:
    """Build and check Settings (overrides > environment > defaults); a bad value is one line."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "?"
        if not name.startswith("JOBPROBE_") and name.upper() == name and "_" in name:
            name = f"JOBPROBE_{name}"
        raise errors.SettingsError(
            secrets.mask(
                f"{name}: {first['msg'].removeprefix('Value error, ')} (got {first.get('input')!r}); fix the environment variable"
            )
        ) from exc
    settings.check()
    return settings
