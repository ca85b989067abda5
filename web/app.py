"""The ASGI application of ``jobprobe serve``: the API under /api/v1, the pages, the static files.

``create_app(settings)`` builds it over the same Settings and Store the CLI uses.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from jobprobe import __version__
from jobprobe.web import api, pages
from jobprobe.worker import runtime
from jobprobe.worker.settings import Settings, load_settings

STATIC_DIR = Path(__file__).parent / "static"
API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The web application over ``settings`` (default: from the environment)."""
    settings = settings or load_settings()
    app = FastAPI(
        title="jobprobe",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.settings = settings
    app.state.store = runtime.get_store(settings)
    app.include_router(api.router, prefix=API_PREFIX)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
