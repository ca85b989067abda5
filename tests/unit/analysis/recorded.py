"""Loading the recorded job profiles under tests/data/profiles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PROFILES = Path(__file__).resolve().parents[2] / "data" / "profiles"


def load_profile(name: str) -> dict[str, Any]:
    """One recorded job record by file stem (a fresh copy each call)."""
    with (PROFILES / f"{name}.json").open() as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def profile_names() -> list[str]:
    """Stems of every recorded profile."""
    return sorted(p.stem for p in PROFILES.glob("*.json"))
