"""Mapping HTTP failures and error answers to typed ISS errors (one place for all of them)."""

from __future__ import annotations

import httpx

from jobprobe.iss_client import errors
from jobprobe.iss_client.transport import parse_retry_after


def url_path(url: str) -> str:
    """The path of ``url`` (no query string: messages stay short)."""
    return httpx.URL(url).path


def as_timeout(exc: Exception, method: str, url: str, timeout: httpx.Timeout) -> errors.IssError:
    """An ``IssTimeoutError`` for an httpx timeout (ISS errors pass through)."""
    if isinstance(exc, errors.IssError):
        return exc
    return errors.IssTimeoutError(
        f"ISS did not answer {method} {url_path(url)} within {timeout.read} s"
    )


def as_connection_error(exc: Exception, method: str, url: str) -> errors.IssError:
    """An ``IssConnectionError`` for an httpx transport failure (ISS errors pass through)."""
    if isinstance(exc, errors.IssError):
        return exc
    return errors.IssConnectionError(
        f"ISS unreachable for {method} {url_path(url)} ({type(exc).__name__}): check the URL"
    )


def error_detail(response: httpx.Response) -> str | None:
    """The error message of an ISS error body, or the start of its text."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:500] or None
    if isinstance(body, dict):
        for key in ("message", "Message", "detail", "Detail", "error", "Error"):
            if body.get(key):
                return str(body[key])[:500]
    return str(body)[:500]


def raise_for_status(response: httpx.Response, method: str) -> None:
    """Map an error answer to a typed IssError carrying status_code and detail."""
    if not response.is_error:
        return
    if not response.is_stream_consumed:
        response.read()
    response.close()
    status = response.status_code
    detail = error_detail(response)
    where = f"{method} {response.request.url.path}"
    message = f"ISS answered {status} to {where}" + (f": {detail}" if detail else "")
    if status in (401, 403):
        raise errors.IssAuthError(message, status_code=status, detail=detail)
    if status == 404:
        raise errors.IssNotFoundError(message, status_code=status, detail=detail)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise errors.IssRateLimitedError(
            message, status_code=status, detail=detail, retry_after=retry_after
        )
    if status >= 500:
        raise errors.IssServerError(message, status_code=status, detail=detail)
    raise errors.IssApiError(message, status_code=status, detail=detail)
