"""The real web application on uvicorn, in a thread, on 127.0.0.1 and a free port.

uvicorn runs as ``jobprobe serve`` runs it: proxy headers on, trusting ``forwarded_allow_ips``
(default 127.0.0.1, as ``serve``). A request from the test that carries ``X-Forwarded-For``
with another address is therefore, to the application, a request from that address: the way
these tests exercise a client beyond loopback over real HTTP (web/auth.py says why).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from jobprobe.web.app import create_app
from jobprobe.worker.settings import Settings

#: The address the tests present as a remote client (TEST-NET-3, never a real host).
REMOTE = "203.0.113.9"


class ServerThread:
    """uvicorn serving ``create_app(settings)`` until ``stop()``."""

    def __init__(self, settings: Settings, *, forwarded_allow_ips: str = "127.0.0.1") -> None:
        self.app = create_app(settings)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(
            self.app, log_level="warning", proxy_headers=True,
            forwarded_allow_ips=forwarded_allow_ips, timeout_graceful_shutdown=1, lifespan="on",
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def start(self, timeout: float = 20.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web server did not start")
            time.sleep(0.02)  # polling the server's start flag, bounded by the deadline

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


@contextmanager
def serving(settings: Settings, **kwargs: str) -> Iterator[ServerThread]:
    """The application served for the block's length."""
    server = ServerThread(settings, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def client(server: ServerThread, **kwargs: object) -> httpx.Client:
    """An HTTP client for ``server`` (the caller closes it)."""
    return httpx.Client(base_url=server.url, timeout=30.0, **kwargs)  # type: ignore[arg-type]


def sse_events(
    response: httpx.Response, *, until: str = "end", limit: int = 100_000
) -> Iterator[tuple[str, str, str | None]]:
    """``(event, data, id)`` of a text/event-stream response, up to and including ``until``."""
    name, ident = "message", None
    data: list[str] = []
    count = 0
    for line in response.iter_lines():
        if line.startswith(":"):
            continue
        if line == "":
            if data:
                yield name, "\n".join(data), ident
                count += 1
                if name == until or count >= limit:
                    return
            name, data, ident = "message", [], None
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            ident = value
