"""The ASGI application of ``jobprobe serve``: the API under /api/v1, the pages, the static
files, Prometheus' /metrics.

``create_app(settings)`` builds it over the same Settings and Store the CLI uses. Every error
answers JSON ``{"error": ...}`` (``web.errors``); who may read and write is ``web.auth``'s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from jobprobe import __version__
from jobprobe.web import api, errors, metrics, pages, submit
from jobprobe.worker import runtime
from jobprobe.worker.settings import Settings, load_settings

STATIC_DIR = Path(__file__).parent / "static"
API_PREFIX = "/api/v1"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    # Embedded jobs started over the web run in this process: cancel them and wait for their
    # outcome to be recorded before the process goes.
    await run_in_threadpool(app.state.embedded_runs.stop, app.state.store)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The web application over ``settings`` (default: from the environment)."""
    settings = settings or load_settings()
    app = FastAPI(
        title="jobprobe",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.store = runtime.get_store(settings)
    app.state.embedded_runs = submit.EmbeddedRuns()
    app.state.metrics_registry = metrics.registry_for(app.state.store, settings)
    errors.install(app)
    app.include_router(api.router, prefix=API_PREFIX)
    app.include_router(metrics.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
