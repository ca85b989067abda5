"""Plain SQL reads over one DB-API connection: the store's read queries, without SQLAlchemy.

A ``Reader`` runs SQL written with ``:name`` parameters on SQLite (``sqlite3``) or PostgreSQL
(psycopg 2 or 3), binds points in time the way the store keeps them, decodes the columns a
query names as timestamps or JSON, and turns driver errors into ``StoreError`` lines.

Where one comes from:
- ``ReadStore(url, stamp).reader()``: a direct connection, for the read commands (standard
  library and the driver only: a command that reads a few rows starts in a fraction of the
  time SQLAlchemy takes to import). Only for a database whose schema stamp is current.
- ``Store.reader()``: a connection from the engine's pool (the web app, the tasks).
- ``from_session(session)``: the session's own connection, inside its transaction.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from jobprobe.store import errors, schema_stamp, timestamps
from jobprobe.store.urls import StoreUrl, display

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: How PostgreSQL and SQLite say that a table is missing.
MISSING_TABLE = re.compile(r"relation \"[^\"]+\" does not exist|no such table", re.I)
#: ``:name`` parameters (not ``::`` casts), as psycopg's ``%(name)s``.
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
#: How SQLAlchemy keeps a point in time in SQLite: UTC text without an offset.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


class Readable(Protocol):
    """Anything that hands out Readers: ``Store`` or ``ReadStore``."""

    def reader(self) -> AbstractContextManager[Reader]:
        """A Reader for the duration of the ``with`` block."""
        ...


class Reader:
    """Read queries on one DB-API connection of ``dialect`` (``sqlite`` or ``postgresql``)."""

    def __init__(
        self, connection: Any, dialect: str, driver: Any, *, where: str, stamp: Path | None = None
    ) -> None:
        self.connection = connection
        self.dialect = dialect
        self.driver = driver  # the DB-API module: sqlite3, psycopg2 or psycopg
        self._where = where
        self._stamp = stamp

    @property
    def postgres(self) -> bool:
        """Whether the database is PostgreSQL."""
        return self.dialect == "postgresql"

    def tuples(
        self, sql: str, params: Mapping[str, Any] | None = None, *, binary: bool = False
    ) -> list[tuple[Any, ...]]:
        """The rows of ``sql`` as tuples, undecoded; ``binary``: in PostgreSQL's binary format
        where the driver takes it (psycopg 3)."""
        with self._mapped_errors():
            if binary and self.driver.__name__ == "psycopg":
                cursor = self.connection.cursor(binary=True)
            else:
                cursor = self.connection.cursor()
            try:
                cursor.execute(*self._statement(sql, params))
                return [tuple(row) for row in cursor.fetchall()]
            finally:
                cursor.close()

    def rows(
        self,
        sql: str,
        params: Mapping[str, Any] | None = None,
        *,
        times: Sequence[str] = (),
        json_columns: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """The rows of ``sql`` as dicts by column name; ``times`` read back as aware UTC
        datetimes and ``json_columns`` as Python values, whatever the driver gave."""
        return list(self.batches(sql, params, times=times, json_columns=json_columns))

    def batches(
        self,
        sql: str,
        params: Mapping[str, Any] | None = None,
        *,
        times: Sequence[str] = (),
        json_columns: Sequence[str] = (),
        size: int = 500,
    ) -> Iterator[dict[str, Any]]:
        """Like ``rows``, fetched ``size`` rows at a time (for long results)."""
        with self._mapped_errors():
            cursor = self.connection.cursor()
            try:
                cursor.execute(*self._statement(sql, params))
                names = [d[0] for d in cursor.description]
                while chunk := cursor.fetchmany(size):
                    for values in chunk:
                        row = dict(zip(names, values, strict=True))
                        for name in times:
                            row[name] = as_time(row[name])
                        for name in json_columns:
                            row[name] = as_json(row[name])
                        yield row
            finally:
                cursor.close()

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row (None when there is none)."""
        found = self.tuples(sql, params)
        return found[0][0] if found else None

    def _statement(self, sql: str, params: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
        bound = {name: self._bind(value) for name, value in (params or {}).items()}
        if self.postgres:
            return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%")), bound
        return sql, bound

    def _bind(self, value: Any) -> Any:
        if isinstance(value, datetime):
            utc = timestamps.as_utc(value)
            return utc if self.postgres else utc.replace(tzinfo=None).strftime(_SQLITE_TIME)
        if isinstance(value, Enum):
            return value.value
        return value

    @contextmanager
    def _mapped_errors(self) -> Iterator[None]:
        try:
            yield
        except self.driver.Error as e:
            line = (str(e).strip().splitlines() or [type(e).__name__])[0]
            if MISSING_TABLE.search(str(e)):
                if self._stamp is not None:
                    raise schema_stamp.forget(self._stamp) from e
                raise errors.StoreError(f"database error: {line}") from e
            if isinstance(e, self.driver.OperationalError):
                raise errors.StoreUnavailable(errors.unavailable_message(self._where, line)) from e
            raise errors.StoreError(f"database error: {line}") from e


def as_time(value: Any) -> datetime | None:
    """A stored point in time as an aware UTC datetime (SQLite's text, or a driver's datetime)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return timestamps.as_utc(value)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def as_json(value: Any) -> Any:
    """A stored JSON value as Python (SQLite's text; PostgreSQL's drivers decode jsonb)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


class ReadStore:
    """The store as the read commands open it: one direct DB-API connection, made at the first
    ``reader()`` and kept for the next ones (``logs --follow`` polls on it) until ``close()``
    or an error that may have broken it; no engine, no ORM, no schema check (``stamp`` says the
    schema is current; a missing table drops it and says to run again). Reads autocommit: no
    transaction is held between them."""

    def __init__(self, url: str, *, stamp: Path | None = None) -> None:
        self.url = StoreUrl.parse(url)
        self.stamp = stamp
        self._open: tuple[Any, Any] | None = None

    @property
    def dialect(self) -> str:
        """``postgresql`` or ``sqlite``."""
        return self.url.backend

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        """A Reader on this store's connection (made now if there is none)."""
        if self._open is None:
            self._open = self._connect()
        driver, connection = self._open
        try:
            yield Reader(
                connection, self.dialect, driver, where=display(self.url.url), stamp=self.stamp
            )
        except errors.StoreError:
            self.close()  # the next reader connects anew
            raise

    def close(self) -> None:
        """Close the connection, if one is open."""
        if self._open is not None:
            _, connection = self._open
            self._open = None
            with suppress(Exception):  # already broken: nothing to give back
                connection.close()

    def _connect(self) -> tuple[Any, Any]:
        where = display(self.url.url)
        file = self.url.sqlite_file
        if self.url.backend == "sqlite":
            import sqlite3

            if file is None or not file.is_file():
                raise errors.StoreUnavailable(
                    errors.unavailable_message(where, "no such file; run a command that writes")
                )
            # Autocommit: a SELECT holds no WAL snapshot after it (SQLite sees later writes).
            connection = sqlite3.connect(file, timeout=10, isolation_level=None)
            return sqlite3, connection
        driver = _postgres_driver()
        try:
            if driver.__name__ == "psycopg2":
                connection = driver.connect(self.url.libpq, connect_timeout=5)
                connection.autocommit = True
            else:
                connection = driver.connect(self.url.libpq, connect_timeout=5, autocommit=True)
        except driver.Error as e:
            line = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise errors.StoreUnavailable(errors.unavailable_message(where, line)) from e
        return driver, connection


def _postgres_driver() -> Any:
    """psycopg2 where it is installed (it imports in a fifth of psycopg 3's time), else
    psycopg 3, the driver the rest of the store uses."""
    try:
        return importlib.import_module("psycopg2")
    except ImportError:
        return importlib.import_module("psycopg")


def from_session(session: Session) -> Reader:
    """A Reader on ``session``'s own connection (it sees the session's uncommitted writes)."""
    bind = session.get_bind()
    return Reader(
        session.connection().connection.dbapi_connection,
        bind.dialect.name,
        bind.dialect.dbapi,
        where=display(bind.engine.url.render_as_string(False)),
    )
