"""Errors raised by the ISS client.

Everything derives from :class:`IssError`. Callers that retry (Celery tasks) catch
:class:`IssTransientError`; everything else is permanent and should fail at once.
No message or attribute ever carries a secret (client secret, bearer token, AWS key).
"""

from __future__ import annotations


class IssError(Exception):
    """The Intel Simulation Service request failed."""

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int | None = None,
        detail: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.detail = detail
        super().__init__(message or (self.__doc__ or "ISS error").strip())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, status_code={self.status_code!r})"


class IssTransientError(IssError):
    """ISS is temporarily unavailable; retry later with backoff."""


class IssPermanentError(IssError):
    """The request cannot succeed as made; retrying will not help."""


class IssApiError(IssPermanentError):
    """ISS answered with an error status; see status_code and detail."""


class IssAuthError(IssApiError):
    """ISS rejected the credentials or token: check the client id and secret."""


class IssNotFoundError(IssApiError):
    """ISS does not know the requested job, platform, instance or file."""


class IssRateLimitedError(IssApiError, IssTransientError):
    """ISS is rate limiting this client (429); wait for Retry-After and retry."""

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int | None = 429,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, detail=detail)
        self.retry_after = retry_after


class IssServerError(IssApiError, IssTransientError):
    """ISS failed on its side (5xx); retry later."""


class IssTimeoutError(IssTransientError):
    """ISS did not answer in time; retry later or raise the timeout."""


class IssConnectionError(IssTransientError):
    """ISS could not be reached: check the URL and the network."""


class IssFileTooLargeError(IssPermanentError):
    """The file is larger than the download size cap; raise max_bytes to fetch it."""


class IssCredentialsError(IssPermanentError):
    """The ISS client credentials could not be loaded from AWS Secrets Manager."""


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` is an ISS error worth retrying later."""
    return isinstance(exc, IssTransientError)
