"""Where this process's store, data and tool registry are, and how any setting is read from the
environment: the rules ``Settings`` is built with, in the standard library alone.

The read commands (``job-history``, ``job-details``, ``job-stats``, ``logs``, ``tools``) need
only these four settings; ``Locations.from_environment`` reads them by the same rules without
building ``Settings`` (pydantic's model costs about 0.1 s of every command's start).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jobprobe.worker import errors, secrets

ENV_PREFIX = "JOBPROBE_"
#: The stores jobprobe runs on: PostgreSQL (psycopg 3 or 2) and SQLite.
_DATABASE_URL = re.compile(r"^(postgresql(\+psycopg2?)?://[^\s]+|sqlite:///[^\s]*|sqlite://)$")
UNSUPPORTED_DATABASE = (
    "not a URL of a supported database: postgresql+psycopg://USER@HOST:5432/DB or sqlite:///PATH"
)


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/jobprobe`` (``~/.local/share/jobprobe`` without it)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "jobprobe"


def read_secret_file(variable: str, path: str) -> str:
    """The value a ``..._FILE`` variable points at (its file's text, without the last newline)."""
    try:
        return Path(path).read_text().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise errors.SettingsError(
            f"{variable}: cannot read {path}: {reason}; fix the environment variable"
        ) from exc


def env_value(upper: Mapping[str, str], names: Sequence[str], *, from_file: bool) -> str | None:
    """A setting's value from the environment ``upper`` (its names upper-cased): the first of
    ``names`` set, else (``from_file``) the file the first ``<NAME>_FILE`` set points at."""
    for name in names:
        if name in upper:
            return upper[name]
    if from_file:
        for name in names:
            if upper.get(f"{name}_FILE"):
                return read_secret_file(f"{name}_FILE", upper[f"{name}_FILE"])
    return None


def blank_is_unset(value: str | None) -> str | None:
    """An empty or blank URL setting counts as not set."""
    return None if value is not None and not value.strip() else value


def check_database_url(value: str | None) -> str | None:
    """``value`` if it is a supported store URL (or None); ValueError otherwise."""
    if value is not None and not _DATABASE_URL.match(value):
        raise ValueError(UNSUPPORTED_DATABASE)
    return value


def check_broker_has_database(broker_url: str | None, database_url: str | None) -> None:
    """A broker without a database URL cannot work: this process would use a SQLite file the
    workers never see."""
    if broker_url is not None and database_url is None:
        raise errors.SettingsError(
            "JOBPROBE_DATABASE_URL: must be set when JOBPROBE_BROKER_URL is (without it this "
            "process uses a SQLite file the workers never see); set it to the workers' store"
        )


def database_url(configured: str | None, data_dir: Path) -> str:
    """The store URL: the configured one, or SQLite under the data directory."""
    return configured or f"sqlite:///{data_dir / 'jobprobe.db'}"


def tools_file(configured: Path | None, data_dir: Path) -> Path | None:
    """The tool registry to load: the configured file, else ``DATA_DIR/tools.toml`` where it
    exists, else None (the bundled one)."""
    if configured is not None:
        return configured
    candidate = data_dir / "tools.toml"
    return candidate if candidate.is_file() else None


@dataclass(frozen=True)
class Locations:
    """The broker, the store, the data directory and the tool registry, as configured."""

    broker_url: str | None
    database_url: str | None
    data_dir: Path
    tools_file: Path | None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Locations:
        """Read by ``Settings``' rules (names, ``_FILE`` secrets, blank URLs, checks); a bad
        value is one ``SettingsError`` line naming the variable."""
        upper = {k.upper(): v for k, v in (os.environ if environ is None else environ).items()}

        def get(name: str) -> str | None:
            return env_value(upper, [f"{ENV_PREFIX}{name.upper()}"], from_file=True)

        broker = blank_is_unset(get("broker_url"))
        database = blank_is_unset(get("database_url"))
        try:
            check_database_url(database)
        except ValueError as exc:
            raise errors.SettingsError(
                secrets.mask(
                    f"JOBPROBE_DATABASE_URL: {exc} (got {database!r}); fix the environment variable"
                )
            ) from exc
        check_broker_has_database(broker, database)
        data_dir = get("data_dir")
        tools = get("tools_file")
        return cls(
            broker_url=broker,
            database_url=database,
            data_dir=Path(data_dir) if data_dir is not None else default_data_dir(),
            tools_file=Path(tools) if tools is not None else None,
        )

    @property
    def resolved_database_url(self) -> str:
        """The store URL (``database_url``)."""
        return database_url(self.database_url, self.data_dir)

    @property
    def resolved_tools_file(self) -> Path | None:
        """The tool registry to load (``tools_file``)."""
        return tools_file(self.tools_file, self.data_dir)

    @property
    def schema_stamp_dir(self) -> Path:
        """Where the store's schema stamps are kept."""
        return schema_stamp_dir(self.data_dir)


def schema_stamp_dir(data_dir: Path) -> Path:
    """The folder of schema stamps under a data directory."""
    return data_dir / "schema"
