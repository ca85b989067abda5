"""Engines, sessions and schema set-up (Alembic migrations) for the store."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from jobprobe.store import errors, reading, schema_stamp, urls
from jobprobe.store.schema_stamp import MIGRATIONS_DIR

#: A pooled connection idle longer than this (seconds) is pinged before it is used again, so
#: that one left dead by a database restart is replaced without an error.
PING_IF_IDLE_S = 1.0
_ready: set[str] = set()
_ready_lock = threading.Lock()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(
    url: str, *, connect_timeout: float = 5.0, ping_if_idle_s: float = PING_IF_IDLE_S
) -> Engine:
    """Create an engine for ``url``; SQLite files get their directory, WAL and a busy timeout.

    Server databases ping a pooled connection before use only when it has been idle more than
    ``ping_if_idle_s`` (see ``_ping_when_idle``).
    """
    u = sa.engine.make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(u, connect_args={"timeout": 10, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {}
    if u.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, int(connect_timeout))
    engine = sa.create_engine(u, connect_args=connect_args)
    _ping_when_idle(engine, ping_if_idle_s)
    return engine


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Ping a connection at checkout only if it sat in the pool more than ``idle_s`` seconds.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: two round trips per job, on a
    connection the same worker used milliseconds before. A connection back in use that soon
    has not missed a restart; should one still be dead, its statement fails as the store being
    unavailable (retried, or the outcome spooled) and SQLAlchemy renews the pool.
    """

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _idle_from_now(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since <= idle_s:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as e:  # the pool drops it and connects anew (up to three times)
            raise exc.DisconnectionError(f"pooled connection is dead: {e}") from e


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def _current_revision(bind: Engine | sa.Connection) -> str | None:
    with contextlib.ExitStack() as stack:
        conn = bind if isinstance(bind, sa.Connection) else stack.enter_context(bind.connect())
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        value = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        return None if value is None else str(value)


#: The PostgreSQL advisory lock key that serialises schema upgrades ("jobprobe" in ASCII).
_MIGRATION_LOCK_KEY = 0x6A6F6270726F6265


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[sa.Connection | None]:
    """Held while this process upgrades the schema, so that two processes never both do.

    PostgreSQL: a session advisory lock, on the connection it yields (the upgrade runs on it,
    so the store's pool keeps one connection). SQLite: an ``flock`` on a file beside the
    database (yields None).
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            try:
                yield conn
            finally:
                conn.rollback()  # whatever the upgrade left open; its own work is committed
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK_KEY})
                conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield None
        return
    lock_path = Path(database).expanduser().with_name(f".{Path(database).name}.migrate-lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield None
    finally:
        os.close(fd)


def init_db(engine: Engine, *, stamp: Path | None = None) -> None:
    """Bring the schema to the newest migration (once per engine URL and process).

    ``stamp`` is a file that remembers, across processes, that this database's schema was found
    current: when it names the head revision, no check is made at all (a command that reads a
    few rows then starts without a catalog query or Alembic). It is written after a check or
    an upgrade.
    """
    key = engine.url.render_as_string(hide_password=False)
    with _ready_lock:
        if key in _ready:
            return
        head = schema_stamp.head_revision()
        url = engine.url.render_as_string(hide_password=False)
        if schema_stamp.matches(stamp, head) and schema_stamp.database_exists(url):
            _ready.add(key)
            return
        try:
            if _current_revision(engine) != head:
                # Another process may be upgrading the same store: one at a time, and each
                # looks again once it holds the lock.
                with _migration_lock(engine) as locked:
                    if _current_revision(locked or engine) != head:
                        from alembic import command

                        config = _alembic_config(engine)
                        config.attributes["connection"] = locked
                        command.upgrade(config, "head")
        except exc.OperationalError as e:
            raise errors.StoreUnavailable(describe_unavailable(engine, e)) from e
        if stamp is not None:
            with contextlib.suppress(OSError):  # only an optimisation: the next process checks
                schema_stamp.write(stamp, head)
        _ready.add(key)


def describe_unavailable(engine: Engine, error: BaseException) -> str:
    """One line saying which database could not be reached and what to do."""
    reason = (
        str(getattr(error, "orig", error)).strip().splitlines()[0]
        if str(error)
        else type(error).__name__
    )
    return errors.unavailable_message(urls.display(engine.url.render_as_string(False)), reason)


class Store:
    """An engine and its session factory: the one handle the rest of jobprobe holds."""

    def __init__(
        self,
        url: str,
        *,
        migrate: bool = True,
        ping_if_idle_s: float = PING_IF_IDLE_S,
        schema_stamp_dir: Path | None = None,
    ) -> None:
        self.url = url
        self.engine = make_engine(url, ping_if_idle_s=ping_if_idle_s)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._stamp = (
            None if schema_stamp_dir is None else schema_stamp.stamp_path(schema_stamp_dir, url)
        )
        if migrate:
            init_db(self.engine, stamp=self._stamp)

    @property
    def dialect(self) -> str:
        """``postgresql`` or ``sqlite``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success, rolled back on error; DB errors become StoreErrors."""
        session = self._sessions()
        try:
            with self._mapped_errors():
                try:
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        finally:
            session.close()

    @contextmanager
    def reader(self) -> Iterator[reading.Reader]:
        """A Reader on a pooled connection (``store.reading``: plain SQL reads), given back
        to the pool after the block."""
        with self._mapped_errors():
            pooled = self.engine.raw_connection()
        try:
            yield reading.Reader(
                pooled.dbapi_connection, self.dialect, self.engine.dialect.dbapi,
                where=urls.display(self.url), stamp=self._stamp,
            )  # fmt: skip
        finally:
            with contextlib.suppress(Exception):  # a dead connection is dropped by the pool
                pooled.rollback()
            pooled.close()

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """A Core connection in a transaction (committed on success, rolled back on error).

        For the worker's per-job writes (claim, samples, outcome): no ORM session to build,
        about 0.3 ms of CPU less each. DB errors become StoreErrors, as with ``session``.
        """
        with self._mapped_errors(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _mapped_errors(self) -> Iterator[None]:
        try:
            yield
        except exc.OperationalError as e:
            raise errors.StoreUnavailable(describe_unavailable(self.engine, e)) from e
        except exc.ProgrammingError as e:
            if self._stamp is not None and reading.MISSING_TABLE.search(str(e.orig)):
                # The stamp outlived the schema (the database was dropped and made anew).
                raise schema_stamp.forget(self._stamp) from e
            raise errors.StoreError(f"database error: {str(e).splitlines()[0]}") from e
        except exc.SQLAlchemyError as e:
            raise errors.StoreError(f"database error: {str(e).splitlines()[0]}") from e

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
