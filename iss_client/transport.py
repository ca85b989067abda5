"""Retry policy for idempotent ISS requests: which answers to retry and how long to wait.

Pure arithmetic, kept apart from I/O so it is tested directly; the client's request loop
(``client.IssClient._send``) applies it, and so does the OpenAI-compatible LLM provider.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from jobprobe.store import timestamps

RETRY_STATUSES: frozenset[int] = frozenset({429, 502, 503, 504})


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date).

    Returns None when the header is absent or not understood; never a negative number.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = (timestamps.as_utc(when) - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with jittered exponential backoff, honouring a capped ``Retry-After``."""

    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 10.0
    retry_after_cap: float = 30.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.backoff_base < 0 or self.backoff_max < 0 or self.retry_after_cap < 0:
            raise ValueError("backoff_base, backoff_max and retry_after_cap must be >= 0")

    def should_retry_status(self, status_code: int, attempt: int) -> bool:
        """True when an answer with ``status_code`` on retry number ``attempt`` is retried."""
        return status_code in RETRY_STATUSES and attempt < self.max_retries

    def delay(
        self,
        attempt: int,
        retry_after: float | None = None,
        *,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait before retry ``attempt + 1`` (``attempt`` counts from 0).

        A server's ``Retry-After`` wins, capped at ``retry_after_cap``; otherwise "equal
        jitter": half the exponential step plus a random part of the other half, so the wait
        is never zero and concurrent clients spread out.
        """
        if retry_after is not None:
            return min(max(0.0, retry_after), self.retry_after_cap)
        step = min(self.backoff_max, self.backoff_base * (2.0**attempt))
        return step / 2.0 + rand() * step / 2.0
