"""Schema stamps: a file per database that remembers, across processes, that its schema was
found at the newest migration, so that a later command reads without checking (no catalog
query, no Alembic, no SQLAlchemy).

Standard library only. ``store.db`` writes a stamp after a check or an upgrade; the read
commands use the lean store only where one is current (``is_current``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from jobprobe.store import errors
from jobprobe.store.urls import StoreUrl

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: What a read says when the stamp outlived the schema (the database was replaced).
NO_TABLES = (
    "the database has no jobprobe tables (it was replaced since this machine last used it); "
    "run the command again to create them"
)


def head_revision() -> str:
    """The newest migration id shipped with this code.

    Migration files are named ``NNNN_what.py`` with revision ``NNNN`` (a unit test holds every
    file to it), so the head is read from the file names without importing Alembic.
    """
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py"))


def stamp_path(stamp_dir: Path, url: str) -> Path:
    """The stamp file for the database at ``url`` (one per database, credentials not in it)."""
    digest = hashlib.sha256(StoreUrl.parse(url).identity.encode()).hexdigest()[:16]
    return stamp_dir / f"schema-{digest}"


def matches(stamp: Path | None, head: str) -> bool:
    """Whether ``stamp`` names revision ``head``."""
    try:
        return stamp is not None and stamp.read_text().strip() == head
    except OSError:
        return False


def database_exists(url: str) -> bool:
    """False for a SQLite file deleted since its stamp was written (it would come back empty)
    and for a memory database. A server database dropped and made anew shows up as a missing
    table instead (``forget``)."""
    parsed = StoreUrl.parse(url)
    if parsed.backend != "sqlite":
        return True
    file = parsed.sqlite_file
    return file is not None and file.is_file()


def is_current(stamp: Path, url: str) -> bool:
    """Whether the database at ``url`` is known to be at the newest migration."""
    return matches(stamp, head_revision()) and database_exists(url)


def write(stamp: Path, head: str) -> None:
    """Record that the schema is at ``head`` (atomically: a reader never sees half an id)."""
    stamp.parent.mkdir(parents=True, exist_ok=True)
    tmp = stamp.with_name(f".{stamp.name}.{os.getpid()}")
    tmp.write_text(head + "\n")
    tmp.replace(stamp)


def forget(stamp: Path | None) -> errors.StoreError:
    """Drop a stamp whose database lost its tables; returns the error to raise."""
    if stamp is not None:
        stamp.unlink(missing_ok=True)
    return errors.StoreError(NO_TABLES)
