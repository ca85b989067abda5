"""Column types of the store: timestamps always in UTC and aware, closed sets of strings read
back as their enum, and JSON (JSONB on PostgreSQL). None changes the schema."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from jobprobe.store import timestamps

E = TypeVar("E", bound=StrEnum)


class EnumText(TypeDecorator[E], Generic[E]):
    """A ``StrEnum`` kept as its plain string value (no database enum type, so adding a member
    needs no migration); a value outside the enum cannot be written."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, stored in UTC and always read back timezone-aware (UTC).

    PostgreSQL keeps ``timestamptz``. SQLite keeps text without an offset, which this type
    writes in UTC and reads back as UTC. A naive value written is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else timestamps.as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else timestamps.as_utc(value)


class Json(TypeDecorator[Any]):
    """JSON: ``jsonb`` on PostgreSQL, JSON text elsewhere.

    The PostgreSQL dialect is imported only when a PostgreSQL engine uses the type, so that a
    command reading the embedded SQLite store does not pay for it.
    """

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())
