"""Options several commands share and the parsers of their values.

A malformed value is a usage error: one line naming the option, exit 2.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from jobprobe.commands.errors import USAGE_ERROR, fail
from jobprobe.queries import errors as query_errors
from jobprobe.queries import filters as query_filters
from jobprobe.queries.filters import JobFilters

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
    command as one checked ``filters`` argument (a ``queries.filters.JobFilters``)."""

    @functools.wraps(fn)
    def wrapper(
        *args: Any, status: str | None, tool: str | None, labels: tuple[str, ...],
        since: str | None, queue: str | None, source: str | None, **kwargs: Any,
    ) -> R:  # fmt: skip
        try:
            filters = JobFilters.parse(status, tool, labels, since, queue, source)
        except query_errors.BadFilter as exc:
            fail(str(exc), USAGE_ERROR)
        return fn(*args, filters=filters, **kwargs)

    command: Callable[..., R] = wrapper
    for option in reversed(_FILTERS):
        command = option(command)
    return command


def parse_pairs(pairs: Sequence[str], what: str) -> dict[str, Any]:
    """``k=v`` items into a dict; ``--param`` values that parse as JSON become those."""
    try:
        return query_filters.parse_pairs(pairs, what, json_values=what == "--param")
    except query_errors.BadFilter as exc:
        fail(str(exc), USAGE_ERROR)


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
