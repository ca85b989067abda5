"""Engines, sessions and schema set-up (Alembic migrations) for the store."""

from __future__ import annotations

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

from jobprobe.store import errors

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
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


def head_revision() -> str:
    """The newest migration id shipped with this code."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None
    return head


def init_db(engine: Engine) -> None:
    """Bring the schema to the newest migration (once per engine URL and process)."""
    key = engine.url.render_as_string(hide_password=False)
    with _ready_lock:
        if key in _ready:
            return
        try:
            with engine.connect() as conn:
                current = None
                if sa.inspect(conn).has_table("alembic_version"):
                    current = conn.execute(
                        sa.text("SELECT version_num FROM alembic_version")
                    ).scalar()
            if current != head_revision():
                from alembic import command

                command.upgrade(_alembic_config(engine), "head")
        except exc.OperationalError as e:
            raise errors.StoreUnavailable(describe_unavailable(engine, e)) from e
        _ready.add(key)


def describe_unavailable(engine: Engine, error: BaseException) -> str:
    """One line saying which database could not be reached and what to do."""
    where = engine.url.render_as_string(hide_password=True)
    reason = (
        str(getattr(error, "orig", error)).strip().splitlines()[0]
        if str(error)
        else type(error).__name__
    )
    return f"cannot reach the database {where} ({reason}); start it or fix JOBPROBE_DATABASE_URL"


class Store:
    """An engine and its session factory: the one handle the rest of jobprobe holds."""

    def __init__(
        self, url: str, *, migrate: bool = True, ping_if_idle_s: float = PING_IF_IDLE_S
    ) -> None:
        self.url = url
        self.engine = make_engine(url, ping_if_idle_s=ping_if_idle_s)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            init_db(self.engine)

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
        except exc.SQLAlchemyError as e:
            raise errors.StoreError(f"database error: {str(e).splitlines()[0]}") from e

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
