"""Recorded job profiles (tests/data/profiles) for the analysis tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PROFILES = Path(__file__).resolve().parents[2] / "data" / "profiles"


def load_profile(name: str) -> dict[str, Any]:
    """One recorded job record by file stem."""
    with (PROFILES / f"{name}.json").open() as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@pytest.fixture
def profile() -> Callable[[str], dict[str, Any]]:
    """Loader of recorded profiles by name (a fresh copy each call)."""
    return load_profile
