"""The ISS stand-in HTTP server: ``/v1`` API, ``/fs/files`` file service, ``/oauth2/token``.

Loopback only. ``/_admin/...`` (no auth) injects faults and reports request counts; the same is
available as Python methods on :class:`DevServer` for tests.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from jobprobe.iss_client.devserver import data
from jobprobe.iss_client.devserver.routes import route

FAULT_KINDS = frozenset({"429", "502", "503", "504", "slow", "expire_tokens"})


@dataclass
class Fault:
    """A fault served to the next ``count`` API or file requests."""

    kind: str
    count: int = 1
    retry_after: float | None = None
    delay: float = 0.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (it timed out on a slow answer) is normal here."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class DevServer:
    """A local ISS in a background thread: ``DevServer(port=0).start()``, then ``.url``.

    ``step_s`` is how long a job stays in each status (divided by ``speed``); tokens live
    ``token_ttl`` seconds. Credentials default to ``dev-client`` / ``dev-secret``.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        speed: float = 1.0,
        step_s: float = 10.0,
        token_ttl: float = 3600.0,
        client_id: str = "dev-client",
        client_secret: str = "dev-secret",
        seed_jobs: int = 130,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.step_s = step_s / speed
        self.token_ttl = token_ttl
        self.client_id = client_id
        self._client_secret = client_secret
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}
        self._faults: deque[Fault] = deque()
        self._stats: Counter[str] = Counter()
        self._stop = threading.Event()
        self.jobs: dict[str, data.DevJob] = {
            j.job_id: j for j in data.seed_jobs(self.now(), self.step_s, seed_jobs)
        }
        self._next_id = 900000
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.dev = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"DevServer(url={self.url!r}, client_id={self.client_id!r})"

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (useful with ``port=0``)."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL: the API is under ``/v1``, files under ``/fs/files``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_url(self) -> str:
        """The OAuth2 token endpoint."""
        return f"{self.url}/oauth2/token"

    def start(self) -> DevServer:
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (slow answers in flight are cut short)."""
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        self._httpd.serve_forever(poll_interval=0.2)

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state --------------------------------------------------------------------------------

    @staticmethod
    def now() -> datetime:
        """Wall-clock now (job schedules are computed from it)."""
        return datetime.now(UTC)

    def create_job(
        self,
        *,
        job_type: str = "IWPS",
        platform: str = "GNR-AP",
        name: str | None = None,
        fail: bool = False,
        status_path: tuple[str, ...] | None = None,
        requested_by: str = "dev.user",
        queue: str = "default",
    ) -> str:
        """Add a job created now; it advances one status every ``step_s``. Returns its id."""
        with self._lock:
            self._next_id += 1
            job_id = f"JR-{self._next_id:06d}"
            path = status_path or (data.ERROR_PATH if fail else data.SUCCESS_PATH)
            self.jobs[job_id] = data.DevJob(
                job_id=job_id,
                name=name or f"{job_type.lower()}-{self._next_id}",
                type=job_type,
                platform=platform,
                created=self.now(),
                requested_by=requested_by,
                queue=queue,
                path=path,
            )
        return job_id

    def job_status(self, job_id: str) -> str:
        """The job's status right now."""
        return self.jobs[job_id].status(self.now(), self.step_s)

    def artifact_bytes(self, job_id: str, name: str) -> bytes:
        """The exact bytes the file service serves for an artifact."""
        job = self.jobs[job_id]
        return data.artifacts(job, job.status(self.now(), self.step_s))[name]

    def inject_fault(
        self, kind: str, count: int = 1, *, retry_after: float | None = None, delay: float = 0.0
    ) -> None:
        """Serve ``kind`` (429, 502, 503, 504, slow) to the next ``count`` requests, or expire
        every token now (``expire_tokens``)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        if kind == "expire_tokens":
            self.expire_tokens()
            return
        with self._lock:
            self._faults.append(Fault(kind, count, retry_after, delay))

    def clear_faults(self) -> None:
        """Drop pending faults."""
        with self._lock:
            self._faults.clear()

    def expire_tokens(self) -> None:
        """Every issued token is rejected with 401 from now on."""
        with self._lock:
            self._tokens.clear()

    def stats(self) -> dict[str, int]:
        """Request counts: ``token_requests``, ``tokens_issued``, ``api_requests``, ``faults``..."""
        with self._lock:
            return dict(self._stats)

    def reset_stats(self) -> None:
        """Zero the request counts."""
        with self._lock:
            self._stats.clear()

    # -- used by the handler ------------------------------------------------------------------

    def count(self, key: str) -> None:
        with self._lock:
            self._stats[key] += 1

    def take_fault(self) -> Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.count -= 1
            if fault.count <= 0:
                self._faults.popleft()
            self._stats["faults"] += 1
            return fault

    def pause(self, seconds: float) -> None:
        """Wait (a slow answer), cut short when the server stops."""
        self._stop.wait(seconds)

    def check_client(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, _, secret = decoded.partition(":")
        return secrets.compare_digest(client_id, self.client_id) and secrets.compare_digest(
            secret, self._client_secret
        )

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_ttl
            self._stats["tokens_issued"] += 1
        return token

    def token_valid(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        with self._lock:
            expiry = self._tokens.get(header[7:])
        return expiry is not None and time.monotonic() < expiry


class _Handler(BaseHTTPRequestHandler):
    server_version = "iss-devserver/1.0"
    protocol_version = "HTTP/1.1"

    @property
    def dev(self) -> DevServer:
        return self.server.dev  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: request lines would clutter test output."""

    def _send(
        self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if path.startswith("/_admin/"):
            self._admin(path)
        elif path == "/oauth2/token" and self.command == "POST":
            self._token()
        elif path.startswith(("/v1/", "/fs/files/")) and self.command == "GET":
            self._api(path, query)
        else:
            self._body()
            self._json(404, {"message": f"no route for {self.command} {path}"})

    def _token(self) -> None:
        self.dev.count("token_requests")
        form = parse_qs(self._body().decode(errors="replace"))
        if not self.dev.check_client(self.headers.get("Authorization")):
            self._json(401, {"error": "invalid_client"}, {"WWW-Authenticate": "Basic"})
        elif form.get("grant_type") != ["client_credentials"]:
            self._json(400, {"error": "unsupported_grant_type"})
        else:
            token = self.dev.issue_token()
            ttl = self.dev.token_ttl
            self._json(200, {"access_token": token, "token_type": "Bearer", "expires_in": ttl})

    def _api(self, path: str, query: dict[str, str]) -> None:
        self.dev.count("api_requests")
        fault = self.dev.take_fault()
        if fault is not None:
            if fault.kind == "slow":
                self.dev.pause(fault.delay)
            else:
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = f"{fault.retry_after:g}"
                self._json(int(fault.kind), {"message": f"injected {fault.kind}"}, headers)
                return
        if not self.dev.token_valid(self.headers.get("Authorization")):
            self.dev.count("unauthorized")
            self._json(401, {"message": "Unauthorized: missing, invalid or expired token"})
            return
        status, body, ctype = route(self.dev, path, query)
        if isinstance(body, bytes):
            self._send(status, body, ctype)
        else:
            self._json(status, body)

    def _admin(self, path: str) -> None:
        raw = self._body()
        if path == "/_admin/requests":
            if self.command == "DELETE":
                self.dev.reset_stats()
            self._json(200, self.dev.stats())
            return
        if path == "/_admin/faults" and self.command == "DELETE":
            self.dev.clear_faults()
            self._json(200, {"cleared": True})
            return
        try:
            spec = json.loads(raw or b"{}")
        except ValueError:
            self._json(400, {"message": "body must be JSON"})
            return
        try:
            if path == "/_admin/faults" and self.command == "POST":
                self.dev.inject_fault(
                    str(spec["kind"]),
                    int(spec.get("count", 1)),
                    retry_after=spec.get("retry_after"),
                    delay=float(spec.get("delay", 0.0)),
                )
                self._json(200, {"injected": spec})
            elif path == "/_admin/jobs" and self.command == "POST":
                job_id = self.dev.create_job(**spec)
                self._json(201, {"JobRequestID": job_id})
            else:
                self._json(404, {"message": f"no admin route {self.command} {path}"})
        except (KeyError, TypeError, ValueError) as exc:
            self._json(400, {"message": f"bad admin request: {exc}"})
