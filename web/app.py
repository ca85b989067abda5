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
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from jobprobe import __version__
from jobprobe.web import api, errors, metrics, pages, submit
from jobprobe.worker import runtime
from jobprobe.worker.settings import Settings, load_settings

STATIC_DIR = Path(__file__).parent / "static"
API_PREFIX = "/api/v1"
SWAGGER = "/static/vendor/swagger-ui"


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
        docs_url=None,  # served below, with Swagger UI from this server (never a CDN)
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
    app.add_api_route("/api/docs", _docs, include_in_schema=False)
    return app


def _docs() -> HTMLResponse:
    """The API's docs page: Swagger UI, vendored in static/vendor/swagger-ui."""
    return get_swagger_ui_html(
        openapi_url=f"{API_PREFIX}/openapi.json", title="jobprobe API",
        swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js", swagger_css_url=f"{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
    )  # fmt: skip
