"""Who may read and who may change state over the web.

Reading needs no token only when the request comes from loopback (127.0.0.0/8, ::1) *and*
names a loopback host (``Host: 127.0.0.1:8040``, ``localhost``): the second condition stops a
web page elsewhere from reading the API through a browser on this machine by pointing its own
domain at 127.0.0.1 (DNS rebinding). From anywhere else a bearer token is needed:
``JOBPROBE_WEB_READ_TOKEN`` (or the write token, which allows reading too). Changing state
(submit, cancel) always needs ``JOBPROBE_WEB_WRITE_TOKEN``, from loopback too; without one
set nothing can be changed over the web.

The client's address is the ASGI scope's. Behind a reverse proxy, uvicorn replaces it with
the address in ``X-Forwarded-For`` when the proxy's own address is trusted
(``jobprobe serve --forwarded-allow-ips``, default 127.0.0.1 as in uvicorn): a proxy on this
machine that forwards a remote browser makes the request remote, never loopback. That is
also how the tests exercise a non-loopback client over real HTTP on 127.0.0.1.

The token comes in ``Authorization: Bearer <token>``; for reading, a browser may keep it in
the ``jobprobe_token`` cookie instead (server-sent events cannot send headers). Tokens are
compared in constant time and never written to an answer or a log line.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import TYPE_CHECKING

from fastapi import Request

from jobprobe.web import errors

if TYPE_CHECKING:
    from pydantic import SecretStr

    from jobprobe.worker.settings import Settings

#: The cookie a browser may hold the read token in.
TOKEN_COOKIE = "jobprobe_token"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})


def is_loopback_address(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped 127.x addresses; False for names and None."""
    if not host:
        return False
    try:
        addr = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


def _host_name(header: str) -> str:
    """The host part of a ``Host`` header (``[::1]:8040`` -> ``::1``)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


#: Headers a proxy adds: a request that carries one was forwarded, so it is never loopback's own
#: (whatever address a trusting proxy setting made of it).
_FORWARDING = ("x-forwarded-for", "forwarded", "x-real-ip")


def from_loopback(request: Request) -> bool:
    """The request comes from this machine's loopback, names a loopback host and was not
    forwarded by a proxy."""
    if any(name in request.headers for name in _FORWARDING):
        return False
    client = request.client.host if request.client else None
    if not is_loopback_address(client):
        return False
    name = _host_name(request.headers.get("host", ""))
    return name in _LOOPBACK_NAMES or is_loopback_address(name)


def _given_token(request: Request, *, cookie: bool) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if cookie:
        return request.cookies.get(TOKEN_COOKIE) or None
    return None


def configured(secret: SecretStr | None) -> bool:
    """Whether a token is set (an empty value, as compose gives an unset variable, is not)."""
    return secret is not None and bool(secret.get_secret_value())


def _matches(given: str, secret: SecretStr | None) -> bool:
    """Constant-time comparison with a configured token (False when none is configured)."""
    expected = b"" if secret is None else secret.get_secret_value().encode()
    # Compared even when none is set, so the time taken says nothing about the settings.
    same = hmac.compare_digest(given.encode(), expected)
    return secret is not None and bool(expected) and same


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def require_read(request: Request) -> None:
    """Dependency: allow reading from loopback, or with the read or write token."""
    if from_loopback(request):
        return
    settings = _settings(request)
    given = _given_token(request, cookie=True)
    if not (configured(settings.web_read_token) or configured(settings.web_write_token)):
        raise errors.Forbidden(
            "reading from beyond loopback is off on this server; set JOBPROBE_WEB_READ_TOKEN "
            "there and send it as Authorization: Bearer <token>"
        )
    if given is None:
        raise errors.Unauthorized(
            "a token is needed from beyond loopback; send Authorization: Bearer <read token>"
        )
    read_ok = _matches(given, settings.web_read_token)
    write_ok = _matches(given, settings.web_write_token)
    if not (read_ok or write_ok):
        raise errors.Unauthorized("the token is not valid here; send the server's read token")


def require_write(request: Request) -> None:
    """Dependency: allow a state change (submit, cancel) with the write token only."""
    settings = _settings(request)
    given = _given_token(request, cookie=False)
    if not configured(settings.web_write_token):
        raise errors.Forbidden(
            "changing state over the web is off on this server; set JOBPROBE_WEB_WRITE_TOKEN "
            "there, or use the jobprobe command"
        )
    if given is None:
        raise errors.Unauthorized(
            "submit and cancel need the write token: send Authorization: Bearer <write token>"
        )
    if _matches(given, settings.web_write_token):
        return
    if _matches(given, settings.web_read_token):
        raise errors.Forbidden("the read token cannot submit or cancel; use the write token")
    raise errors.Unauthorized("the token is not valid here; send the server's write token")
