"""Backoff arithmetic and Retry-After parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jobprobe.iss_client.transport import RETRY_STATUSES, RetryPolicy, parse_retry_after
from jobprobe.iss_client.urls import file_path, segment

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("-4", 0.0),
        ("Sun, 22 Nov 2026 12:00:10 GMT", 10.0),
        ("Sun, 22 Nov 2026 11:59:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_backoff_grows_with_jitter_within_bounds() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_max=4.0)
    assert [policy.delay(a, rand=lambda: 0.0) for a in range(5)] == [0.25, 0.5, 1.0, 2.0, 2.0]
    assert [policy.delay(a, rand=lambda: 1.0) for a in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_retry_after_wins_and_is_capped() -> None:
    policy = RetryPolicy(retry_after_cap=30.0)
    assert policy.delay(0, 7.0) == 7.0
    assert policy.delay(3, 600.0) == 30.0


def test_retry_statuses_and_bound() -> None:
    policy = RetryPolicy(max_retries=2)
    assert {429, 502, 503, 504} == RETRY_STATUSES
    assert policy.should_retry_status(503, 1) and not policy.should_retry_status(503, 2)
    assert not policy.should_retry_status(500, 0) and not policy.should_retry_status(404, 0)
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)


def test_url_segments_refuse_traversal() -> None:
    assert segment("JR 1", "job id") == "JR%201"
    assert file_path("/reports/cpi stack.png") == "reports/cpi%20stack.png"
    for bad in ("..", "a/b", ""):
        with pytest.raises(ValueError):
            segment(bad, "job id")
    with pytest.raises(ValueError):
        file_path("../../etc/passwd")
