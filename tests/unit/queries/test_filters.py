"""queries.filters: raw filter values in, checked values or one ``BadFilter`` line out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jobprobe.queries import errors, filters
from jobprobe.queries.filters import JobFilters


def test_parse_converts_each_filter() -> None:
    parsed = JobFilters.parse(
        "success", "python", ["team=cfd", "k=a=b"], "2026-11-01", "cpu", "iss"
    )
    assert parsed.as_kwargs() == {
        "status": "success", "tool": "python", "labels": {"team": "cfd", "k": "a=b"},
        "since": datetime(2026, 11, 1, tzinfo=UTC), "queue": "cpu", "source": "iss",
    }  # fmt: skip
    assert JobFilters.parse(labels={"team": "cfd"}).labels == {"team": "cfd"}


def test_relative_since_is_before_now() -> None:
    at = filters.parse_since("6h")
    assert at is not None
    assert 6 * 3600 - 5 < (datetime.now(UTC) - at).total_seconds() < 6 * 3600 + 5


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({"status": "done"}, "status", "unknown --status 'done'; use one of queued, running"),
        ({"source": "mars"}, "source", "unknown --source 'mars'; use one of local, iss"),
        ({"labels": ["team"]}, "labels", "malformed --label 'team'; write it as NAME=VALUE"),
        ({"since": "lately"}, "since", "--since 'lately' is neither a date"),
    ],
)
def test_bad_values_name_the_filter(given: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(errors.BadFilter) as caught:
        JobFilters.parse(**given)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert str(caught.value).startswith(message)


def test_the_flag_prefix_follows_the_caller() -> None:
    with pytest.raises(errors.BadFilter, match=r"^since 'x' is neither"):
        JobFilters.parse(since="x", flag="")


def test_pairs_parse_json_values_only_when_asked() -> None:
    assert filters.parse_pairs(["n=3", "s=x"], "--param", json_values=True) == {"n": 3, "s": "x"}
    assert filters.parse_pairs(["n=3"], "--label") == {"n": "3"}
