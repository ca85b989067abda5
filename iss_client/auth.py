"""OAuth2 client-credentials tokens for ISS, cached until shortly before they expire."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from jobprobe.iss_client import errors
from jobprobe.iss_client.models import Token

log = logging.getLogger(__name__)

DEFAULT_EXPIRY_MARGIN_S = 60.0
DEFAULT_TOKEN_LIFETIME_S = 300.0  # assumed when the token endpoint omits expires_in


class ClientCredentials(BaseModel):
    """An ISS OAuth2 client id and secret; the secret never shows in reprs or dumps."""

    model_config = ConfigDict(frozen=True)

    client_id: str
    client_secret: SecretStr


class TokenProvider:
    """Fetches bearer tokens with HTTP Basic client credentials and caches them, thread-safely.

    A token is reused until ``margin_s`` before its ``expires_in``; ``invalidate`` drops it after
    the API answered 401, so the next ``token()`` fetches a fresh one.
    """

    def __init__(
        self,
        token_url: str,
        credentials: ClientCredentials,
        *,
        http: httpx.Client,
        timeout: float = 10.0,
        margin_s: float = DEFAULT_EXPIRY_MARGIN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token_url = token_url
        self._credentials = credentials
        self._http = http
        self._timeout = httpx.Timeout(timeout)
        self._margin_s = margin_s
        self._clock = clock
        self._lock = threading.Lock()
        self._token: SecretStr | None = None
        self._expires_at = 0.0
        self.fetch_count = 0

    def __repr__(self) -> str:
        return (
            f"TokenProvider(token_url={self._token_url!r}, "
            f"client_id={self._credentials.client_id!r}, client_secret='**********')"
        )

    def token(self) -> str:
        """A valid bearer token, fetched only when none is cached or it is about to expire."""
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                self._token, lifetime = self._fetch()
                # Short-lived tokens: never keep one for less than half its life.
                margin = min(self._margin_s, lifetime / 2.0)
                self._expires_at = self._clock() + lifetime - margin
            return self._token.get_secret_value()

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token (only if it is still ``token``, when one is given)."""
        with self._lock:
            if self._token is not None and (
                token is None or self._token.get_secret_value() == token
            ):
                self._token = None

    def _fetch(self) -> tuple[SecretStr, float]:
        log.debug("requesting an ISS token for client %s", self._credentials.client_id)
        try:
            response = self._http.post(
                self._token_url,
                data={"grant_type": "client_credentials"},
                auth=(
                    self._credentials.client_id,
                    self._credentials.client_secret.get_secret_value(),
                ),
                headers={"Accept": "application/json"},
                timeout=self._timeout,
            )
        except httpx.TimeoutException as exc:
            raise errors.IssTimeoutError(
                f"ISS token endpoint did not answer within {self._timeout.read} s"
            ) from exc
        except httpx.TransportError as exc:
            raise errors.IssConnectionError(
                f"ISS token endpoint unreachable ({type(exc).__name__}): check the token URL"
            ) from exc
        self.fetch_count += 1
        if response.status_code in (400, 401, 403):
            raise errors.IssAuthError(
                f"ISS token endpoint rejected client {self._credentials.client_id!r} "
                f"({response.status_code}): check the client id and secret",
                status_code=response.status_code,
                detail=_oauth_error(response),
            )
        if response.status_code == 429 or response.status_code >= 500:
            raise errors.IssServerError(
                f"ISS token endpoint failed ({response.status_code}); retry later",
                status_code=response.status_code,
                detail=_oauth_error(response),
            )
        if response.is_error:
            raise errors.IssApiError(
                f"ISS token endpoint answered {response.status_code}",
                status_code=response.status_code,
                detail=_oauth_error(response),
            )
        try:
            token = Token.model_validate_json(response.content)
        except ValidationError:
            # The body holds the token: never echo it.
            raise errors.IssAuthError(
                "ISS token endpoint answered without a usable access_token",
                status_code=response.status_code,
            ) from None
        lifetime = token.expires_in if token.expires_in and token.expires_in > 0 else None
        return token.access_token, lifetime or DEFAULT_TOKEN_LIFETIME_S


def _oauth_error(response: httpx.Response) -> str | None:
    """The OAuth2 ``error``/``error_description`` of a failed token answer, nothing else."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    parts = [str(body[k]) for k in ("error", "error_description") if body.get(k)]
    return ": ".join(parts) or None
