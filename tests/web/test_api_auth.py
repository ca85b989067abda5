"""Who may read and write, over real HTTP: tokenless reads from loopback only, bearer tokens
from beyond it, the write token for submit and cancel, no token in any answer.

A client beyond loopback is presented the way a reverse proxy on this machine presents one:
the request carries ``X-Forwarded-For`` and uvicorn, trusting 127.0.0.1 as ``jobprobe serve``
does, hands the application that address (web/auth.py)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from jobprobe.worker.settings import Settings
from tests.web import server as web_server
from tests.web.conftest import READ_TOKEN, WRITE_TOKEN

REMOTE = {"X-Forwarded-For": web_server.REMOTE}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _refused(response: httpx.Response, status: int, needle: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    message = response.json()["error"]
    assert needle in message and "\n" not in message, message
    for token in (READ_TOKEN, WRITE_TOKEN):
        assert token not in response.text


@pytest.fixture
def local_settings(tmp_path: Path) -> Settings:
    """SQLite settings with both tokens (auth does not depend on the backend)."""
    return Settings(
        data_dir=tmp_path / "data", web_read_token=READ_TOKEN, web_write_token=WRITE_TOKEN
    )


def test_reading_from_loopback_needs_no_token(local_settings: Settings) -> None:
    with web_server.serving(local_settings) as srv, web_server.client(srv) as http:
        assert http.get("/api/v1/jobs").status_code == 200
        assert http.get("/metrics").status_code == 200
        # the same from a name of loopback
        localhost = http.get(srv.url.replace("127.0.0.1", "localhost") + "/api/v1/jobs")
        assert localhost.status_code == 200


def test_beyond_loopback_reading_needs_a_token(local_settings: Settings) -> None:
    with web_server.serving(local_settings) as srv, web_server.client(srv) as http:
        _refused(http.get("/api/v1/jobs", headers=REMOTE), 401, "token")
        assert (
            http.get("/api/v1/jobs", headers=REMOTE)
            .headers["www-authenticate"]
            .startswith("Bearer")
        )
        _refused(http.get("/metrics", headers=REMOTE), 401, "token")
        wrong = http.get("/api/v1/jobs", headers=REMOTE | _bearer(READ_TOKEN + "x"))
        _refused(wrong, 401, "not valid")
        assert http.get("/api/v1/jobs", headers=REMOTE | _bearer(READ_TOKEN)).status_code == 200
        assert http.get("/api/v1/jobs", headers=REMOTE | _bearer(WRITE_TOKEN)).status_code == 200
        cookie = http.get(
            "/api/v1/jobs", headers=REMOTE | {"Cookie": f"jobprobe_token={READ_TOKEN}"}
        )
        assert cookie.status_code == 200


def test_a_loopback_client_naming_another_host_needs_a_token(local_settings: Settings) -> None:
    """A page elsewhere whose domain points at 127.0.0.1 (DNS rebinding) reads nothing."""
    with web_server.serving(local_settings) as srv, web_server.client(srv) as http:
        _refused(http.get("/api/v1/jobs", headers={"Host": "evil.example:8040"}), 401, "token")
        ok = http.get("/api/v1/jobs", headers={"Host": "evil.example", **_bearer(READ_TOKEN)})
        assert ok.status_code == 200


def test_without_tokens_nothing_is_read_beyond_loopback_nor_written(tmp_path: Path) -> None:
    with (
        web_server.serving(Settings(data_dir=tmp_path / "data")) as srv,
        web_server.client(srv) as http,
    ):
        _refused(http.get("/api/v1/jobs", headers=REMOTE), 403, "JOBPROBE_WEB_READ_TOKEN")
        body = {"tool": "bash", "script": "echo hi\n"}
        _refused(http.post("/api/v1/jobs", json=body), 403, "JOBPROBE_WEB_WRITE_TOKEN")
        _refused(http.post("/api/v1/jobs/ffffffffffff/cancel"), 403, "JOBPROBE_WEB_WRITE_TOKEN")


def test_changing_state_needs_the_write_token_even_on_loopback(local_settings: Settings) -> None:
    body = {"tool": "bash", "script": "echo hi\n"}
    with web_server.serving(local_settings) as srv, web_server.client(srv) as http:
        _refused(http.post("/api/v1/jobs", json=body), 401, "write token")
        _refused(
            http.post("/api/v1/jobs", json=body, headers=_bearer(READ_TOKEN)), 403, "read token"
        )
        _refused(
            http.post("/api/v1/jobs", json=body, headers=_bearer("guess-guess")), 401, "not valid"
        )
        # the write token in a cookie does not count (a page elsewhere could make a browser send it)
        cookie = http.post(
            "/api/v1/jobs", json=body, headers={"Cookie": f"jobprobe_token={WRITE_TOKEN}"}
        )
        _refused(cookie, 401, "write token")
        cancel = http.post("/api/v1/jobs/ffffffffffff/cancel", headers=_bearer(WRITE_TOKEN))
        _refused(cancel, 404, "ffffffffffff")
        assert http.get("/api/v1/jobs").json()["jobs"] == []  # nothing was submitted


def test_a_forwarded_request_is_never_loopback(local_settings: Settings) -> None:
    """A request that carries a proxy's header was forwarded, whether or not its proxy is
    trusted to name the client: it needs the token (with '*' trusted, any client could name
    itself 127.0.0.1)."""
    with (
        web_server.serving(local_settings, forwarded_allow_ips="192.0.2.250") as srv,
        web_server.client(srv) as http,
    ):
        _refused(http.get("/api/v1/jobs", headers=REMOTE), 401, "token")
        for header in ({"Forwarded": "for=127.0.0.1"}, {"X-Real-IP": "127.0.0.1"}):
            _refused(http.get("/api/v1/jobs", headers=header), 401, "token")
        assert http.get("/api/v1/jobs").status_code == 200  # loopback's own request


def test_a_forwarded_loopback_address_does_not_open_reading(local_settings: Settings) -> None:
    """A remote client cannot claim to be loopback through the proxy: the proxy appends the
    address it saw, and that one is the client."""
    with web_server.serving(local_settings) as srv, web_server.client(srv) as http:
        spoofed = {"X-Forwarded-For": f"127.0.0.1, {web_server.REMOTE}"}
        _refused(http.get("/api/v1/jobs", headers=spoofed), 401, "token")
