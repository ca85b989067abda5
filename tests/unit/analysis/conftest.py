"""Recorded job profiles (tests/data/profiles) for the analysis tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.analysis.recorded import load_profile


@pytest.fixture
def profile() -> Callable[[str], dict[str, Any]]:
    """Loader of recorded profiles by name (a fresh copy each call)."""
    return load_profile
