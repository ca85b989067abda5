"""Waiting on a condition with a deadline (never a bare sleep standing in for the wait)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_for(
    check: Callable[[], T | None],
    timeout: float,
    what: str,
    poll: float = 0.1,
    context: Callable[[], str] = str,
) -> T:
    """Poll ``check`` until it returns a truthy value; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}\n{context()[-4000:]}")
        time.sleep(poll)
