"""The HTTP API (JSON under /api/v1): the same records the CLI prints with ``--json``."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
