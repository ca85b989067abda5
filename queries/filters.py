"""The job filters every listing shares (status, tool, labels, since, queue, source), checked
and converted once for the command line, the web API and the chat agent.

A value that does not parse is a ``BadFilter`` naming the filter. Messages name a filter as the
caller spells it: ``flag="--"`` (the command line, the default) gives ``--since``, ``flag=""``
gives ``since``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jobprobe.queries.errors import BadFilter
from jobprobe.store import timestamps
from jobprobe.store.status import JobSource, JobStatus

_RELATIVE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class JobFilters:
    """Parsed job filters, in the keyword form of ``store.jobs.job_history``."""

    status: str | None = None
    tool: str | None = None
    labels: dict[str, Any] | None = None
    since: datetime | None = None
    queue: str | None = None
    source: str | None = None
    until: datetime | None = None

    @classmethod
    def parse(
        cls, status: str | None = None, tool: str | None = None,
        labels: Sequence[str] | Mapping[str, Any] | None = None, since: str | None = None,
        queue: str | None = None, source: str | None = None, until: str | None = None, *,
        flag: str = "--",
    ) -> JobFilters:  # fmt: skip
        """Check and convert raw filter values (labels as ``KEY=VALUE`` items or a mapping;
        since and until as a date or a span ago like 6h: submitted in ``[since, until)``)."""
        if status and status not in set(JobStatus):
            raise BadFilter(
                f"unknown {flag}status {status!r}; use one of {', '.join(JobStatus)}",
                field="status",
            )
        if source and source not in set(JobSource):
            raise BadFilter(
                f"unknown {flag}source {source!r}; use one of {', '.join(JobSource)}",
                field="source",
            )
        if isinstance(labels, Mapping):
            pairs: dict[str, Any] = {str(k): str(v) for k, v in labels.items()}
        else:
            pairs = parse_pairs(labels or (), f"{flag}label", field="labels")
        return cls(
            status=status or None, tool=tool or None, labels=pairs,
            since=parse_since(since, flag=flag), queue=queue or None, source=source or None,
            until=parse_since(until, flag=flag, name="until"),
        )  # fmt: skip

    def as_kwargs(self) -> dict[str, Any]:
        """The filters as keyword arguments of the store's queries (``until`` only when set)."""
        kwargs = {
            "status": self.status, "tool": self.tool, "labels": self.labels, "since": self.since,
            "queue": self.queue, "source": self.source,
        }  # fmt: skip
        if self.until is not None:
            kwargs["until"] = self.until
        return kwargs


def parse_pairs(
    pairs: Sequence[str], what: str, *, json_values: bool = False, field: str | None = None
) -> dict[str, Any]:
    """``k=v`` items into a dict; with ``json_values`` a value that parses as JSON becomes
    that. ``what`` names the items in the error (``--label``)."""
    out: dict[str, Any] = {}
    for item in pairs:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise BadFilter(f"malformed {what} {item!r}; write it as NAME=VALUE", field=field)
        value: Any = raw
        if json_values:
            try:
                value = json.loads(raw)
            except (ValueError, RecursionError):
                value = raw
        out[key] = value
    return out


def ago(
    seconds: float, *, field: str, unit: str = "seconds", now: datetime | None = None
) -> datetime:
    """The point ``seconds`` before ``now``: a ``BadFilter`` naming ``field`` (counted in
    ``unit``) unless the span is positive, finite and starts after year 1."""
    given = f"{seconds / _UNIT_SECONDS[unit]:g}"
    if not (seconds > 0 and math.isfinite(seconds)):
        raise BadFilter(f"{field} must be more than 0 {unit} (got {given})", field=field)
    try:
        return (now or datetime.now(UTC)) - timedelta(seconds=seconds)
    except OverflowError:
        raise BadFilter(
            f"{field} {given} reaches before year 1; give a shorter span", field=field
        ) from None


_UNIT_SECONDS = {"seconds": 1.0, "days": 86400.0}


def parse_since(text: str | None, *, flag: str = "--", name: str = "since") -> datetime | None:
    """An ISO date/time or a relative span like 30m, 6h, 2d, 1w ago (naive times are UTC);
    ``name`` is the filter's in the error."""
    if not text:
        return None
    m = _RELATIVE.match(text)
    if m:
        try:
            return datetime.now(UTC) - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
        except OverflowError:
            raise BadFilter(
                f"{flag}{name} {text!r} reaches before year 1; give a shorter span", field=name
            ) from None
    at = timestamps.parse_utc(text)
    if at is None:
        raise BadFilter(
            f"{flag}{name} {text!r} is neither a date (2026-11-01) nor a span (30m, 6h, 2d)",
            field=name,
        )
    return at
