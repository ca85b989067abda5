"""The one rule for points in time: aware, in UTC, and a time without an offset is UTC.

Standard library only, so that every package (the store's column type, the command line's
``--since``, the analysis of records, the ISS client's wire format) may use it.
"""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime; a naive one is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_utc(value: object) -> datetime | None:
    """ISO-8601 text as an aware UTC datetime; None when absent or not understood."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        return None
