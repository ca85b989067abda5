"""Options several commands share and the parsers of their values.

A malformed value is a usage error: one line naming the option, exit 2.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import click

from jobprobe.commands.errors import USAGE_ERROR, fail
from jobprobe.store import timestamps
from jobprobe.store.status import JobStatus

R = TypeVar("R")

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
label_option = click.option(
    "--label", "labels", multiple=True, metavar="KEY=VALUE", help="A label (repeatable)."
)
param_option = click.option(
    "--param", "params", multiple=True, metavar="NAME=VALUE", help="A job parameter (repeatable)."
)

_FILTERS = (
    click.option("--status", help="Only jobs with this status."),
    click.option("--tool", help="Only jobs of this tool."),
    click.option(
        "--label", "labels", multiple=True, metavar="KEY=VALUE", help="Only jobs with this label."
    ),
    click.option("--since", help="Only jobs submitted since (2026-11-01, 6h, 2d)."),
    click.option("--queue", help="Only jobs of this queue."),
    click.option("--source", type=click.Choice(["local", "iss"]), help="Local jobs or ISS jobs."),
)


def with_filters(fn: Callable[..., R]) -> Callable[..., R]:
    """The job filters (--status, --tool, --label, --since, --queue, --source), given to the
    command as one checked ``filters`` argument (a ``JobFilters``)."""

    @functools.wraps(fn)
    def wrapper(
        *args: Any, status: str | None, tool: str | None, labels: tuple[str, ...],
        since: str | None, queue: str | None, source: str | None, **kwargs: Any,
    ) -> R:  # fmt: skip
        filters = JobFilters.parse(status, tool, labels, since, queue, source)
        return fn(*args, filters=filters, **kwargs)

    command: Callable[..., R] = wrapper
    for option in reversed(_FILTERS):
        command = option(command)
    return command


@dataclass(frozen=True)
class JobFilters:
    """Parsed job filters, in the keyword form of ``store.jobs.job_history``."""

    status: str | None = None
    tool: str | None = None
    labels: dict[str, Any] | None = None
    since: datetime | None = None
    queue: str | None = None
    source: str | None = None

    @classmethod
    def parse(
        cls, status: str | None, tool: str | None, labels: Sequence[str], since: str | None,
        queue: str | None, source: str | None,
    ) -> JobFilters:  # fmt: skip
        """Check and convert the filter options' raw values."""
        if status and status not in set(JobStatus):
            fail(f"unknown --status {status!r}; use one of {', '.join(JobStatus)}", USAGE_ERROR)
        return cls(
            status=status, tool=tool, labels=parse_pairs(labels, "--label"),
            since=parse_since(since), queue=queue, source=source,
        )  # fmt: skip

    def as_kwargs(self) -> dict[str, Any]:
        """The filters as keyword arguments of the store's queries."""
        return {
            "status": self.status, "tool": self.tool, "labels": self.labels, "since": self.since,
            "queue": self.queue, "source": self.source,
        }  # fmt: skip


def parse_pairs(pairs: Sequence[str], what: str) -> dict[str, Any]:
    """``k=v`` items into a dict; ``--param`` values that parse as JSON become those."""
    out: dict[str, Any] = {}
    for item in pairs:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            fail(f"malformed {what} {item!r}; write it as NAME=VALUE", USAGE_ERROR)
        value: Any = raw
        if what == "--param":
            try:
                value = json.loads(raw)
            except (ValueError, RecursionError):
                value = raw
        out[key] = value
    return out


def parse_params(pairs: Sequence[str], params_json: str | None) -> dict[str, Any]:
    """``--params-json`` (one JSON object) overlaid with the ``--param`` pairs."""
    merged: dict[str, Any] = {}
    if params_json:
        try:
            loaded = json.loads(params_json)
        except ValueError as exc:
            fail(f"--params-json is not valid JSON: {exc}", USAGE_ERROR)
        except RecursionError:
            fail("--params-json is nested too deep; flatten it", USAGE_ERROR)
        if not isinstance(loaded, dict):
            fail("--params-json must be a JSON object", USAGE_ERROR)
        merged.update(loaded)
    merged.update(parse_pairs(pairs, "--param"))
    return merged


_RELATIVE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str | None) -> datetime | None:
    """An ISO date/time or a relative span like 30m, 6h, 2d, 1w (naive times are UTC)."""
    if not text:
        return None
    m = _RELATIVE.match(text)
    if m:
        return datetime.now(UTC) - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    at = timestamps.parse_utc(text)
    if at is None:
        fail(
            f"--since {text!r} is neither a date (2026-11-01) nor a span (30m, 6h, 2d)", USAGE_ERROR
        )
    return at


def parse_vary(text: str) -> tuple[str, list[Any]]:
    """``NAME=v1,v2,...`` into (NAME, [values]); values parse as JSON numbers where they can."""
    name, sep, raw = text.partition("=")
    if not sep or not name or not raw:
        fail(f"malformed --vary {text!r}; write it as NAME=v1,v2,...", USAGE_ERROR)
    values: list[Any] = []
    for item in raw.split(","):
        try:
            values.append(json.loads(item))
        except ValueError:
            values.append(item)
    return name, values


def check_positive(value: float | None, option: str) -> float | None:
    """``value`` unless it is zero or negative (a usage error naming ``option``)."""
    if value is not None and value <= 0:
        fail(f"{option} must be a positive number of seconds (got {value:g})", USAGE_ERROR)
    return value
