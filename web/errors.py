"""Errors of the web API: every failure is JSON ``{"error": "<one line>"}`` with its status.

The library's own errors are translated here, in one table (``STATUS_FOR``): an unknown id is
404, bad input 422, a service that cannot be reached 503. FastAPI's validation errors (a query
parameter of the wrong type, a missing body field) become one line too. Secrets are masked in
every message (``worker.secrets``), and no traceback reaches a client.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from jobprobe.worker import secrets

if TYPE_CHECKING:
    from jobprobe.worker.settings import Settings

log = logging.getLogger(__name__)


class WebError(Exception):
    """A request the API refuses; ``status`` is its HTTP status code."""

    status = 400

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.headers = headers


class BadInput(WebError):
    """A filter or a body field has a value the API cannot use."""

    status = 422


class NotFound(WebError):
    """No such job, sweep, report or plot."""

    status = 404


class Unauthorized(WebError):
    """No token, or a token that is not one of the configured ones."""

    status = 401

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="jobprobe"'})


class Forbidden(WebError):
    """A valid token that does not allow this (reading with no read token set, writing with
    the read token)."""

    status = 403


class TooLarge(WebError):
    """A request body over the size this route takes."""

    status = 413


class Unavailable(WebError):
    """A service behind the API (the database, the broker) cannot be reached."""

    status = 503


#: (module, class name) of the library's errors and the status each answers with, most specific
#: first (an error answers with the status of the first class it is an instance of).
STATUS_FOR: tuple[tuple[str, str, int], ...] = (
    ("jobprobe.queries.errors", "NotFound", 404),
    ("jobprobe.queries.errors", "BadInput", 422),
    ("jobprobe.queries.errors", "QueryError", 422),
    ("jobprobe.store.errors", "JobNotFound", 404),
    ("jobprobe.store.errors", "AmbiguousJobId", 422),
    ("jobprobe.store.errors", "StoreUnavailable", 503),
    ("jobprobe.tasks.errors", "BrokerUnavailable", 503),
    ("jobprobe.tasks.errors", "SubmitError", 422),
    ("jobprobe.tasks.errors", "IssNotConfigured", 422),
    ("jobprobe.monitor.errors", "ToolError", 422),
    ("jobprobe.worker.errors", "SettingsError", 422),
    ("jobprobe.store.errors", "StoreError", 500),
    ("jobprobe.tasks.errors", "TaskError", 500),
    ("jobprobe.iss_client.errors", "IssError", 502),
    ("jobprobe.llm.errors", "LlmNotConfigured", 503),
    ("jobprobe.llm.errors", "LlmError", 502),
)


def _classes() -> list[tuple[type[Exception], int]]:
    """The error classes of ``STATUS_FOR`` with their statuses (modules of errors only: cheap)."""
    found: list[tuple[type[Exception], int]] = []
    for module, name, status in STATUS_FOR:
        try:
            cls = getattr(importlib.import_module(module), name, None)
        except ImportError:  # a package this installation lacks raises none of its errors
            continue
        if isinstance(cls, type) and issubclass(cls, Exception):
            found.append((cls, status))
    return found


def one_line(text: str, secret_values: Iterable[str] = ()) -> str:
    """The first line of ``text``, any secret in it masked (those of the environment and
    ``secret_values``)."""
    first = text.strip().splitlines()[0] if text.strip() else "error"
    return secrets.mask(first, [*secrets.known_values(os.environ), *secret_values])


def settings_secrets(settings: Settings) -> list[str]:
    """The secret values in ``settings`` (tokens, keys, passwords), for masking."""
    values = [
        getattr(settings, name).get_secret_value()
        for name, field in type(settings).model_fields.items()
        if field.annotation is not None
        and "SecretStr" in str(field.annotation)
        and getattr(settings, name) is not None
    ]
    return [v for v in values if v]


def error_response(
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    secret_values: Iterable[str] = (),
) -> JSONResponse:
    """The API's error answer: ``{"error": message}`` (one line, secrets masked)."""
    return JSONResponse(
        {"error": one_line(message, secret_values)}, status_code=status, headers=headers
    )


def _describe(error: Any) -> str:
    """One validation error of FastAPI as ``where: what`` (``query.limit: ...``)."""
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "request"
    return f"{where}: {error.get('msg', 'invalid value')}"


def validation_message(exc: RequestValidationError) -> str:
    """FastAPI's list of validation errors as one line."""
    errors = list(exc.errors())
    if not errors:
        return "invalid request"
    text = "; ".join(_describe(e) for e in errors[:3])
    return text + (f" (and {len(errors) - 3} more)" if len(errors) > 3 else "")


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into ``{"error": ...}``."""

    hidden = settings_secrets(app.state.settings)

    @app.exception_handler(WebError)
    async def _web_error(request: Request, exc: WebError) -> JSONResponse:
        return error_response(exc.status, str(exc), exc.headers, hidden)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, validation_message(exc), secret_values=hidden)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such path {request.url.path}; see /api/docs"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /api/docs"
        return error_response(exc.status_code, message, getattr(exc, "headers", None), hidden)

    table = _classes()

    async def _library(request: Request, exc: Exception) -> JSONResponse:
        status = next((code for cls, code in table if isinstance(exc, cls)), 500)
        if status == 500:
            log.error("%s %s failed: %s", request.method, request.url.path,
                      one_line(f"{type(exc).__name__}: {exc}", hidden))  # fmt: skip
        return error_response(status, str(exc) or type(exc).__name__, secret_values=hidden)

    for cls, _status in table:
        app.add_exception_handler(cls, _library)

    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette logs the traceback after this answer (through the server's masked log).
        return error_response(500, "internal error; the server's log has the details")

    app.add_exception_handler(Exception, _unexpected)
