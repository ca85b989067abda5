"""What a route gets from the application: its Settings and Store (``app.state``), as
FastAPI dependencies (``StoreDep``, ``SettingsDep``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from jobprobe.store.db import Store
from jobprobe.worker.settings import Settings


def get_store(request: Request) -> Store:
    """The application's Store (the one the CLI would use with these settings)."""
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    """The application's Settings."""
    settings: Settings = request.app.state.settings
    return settings


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
