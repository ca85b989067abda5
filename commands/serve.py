"""``jobprobe serve``: the web application (HTTP API, dashboard, Prometheus metrics) on uvicorn."""

from __future__ import annotations

import json
import socket
import sys
from typing import TYPE_CHECKING

import click

from jobprobe.commands import context, options
from jobprobe.commands.errors import USAGE_ERROR, fail, guarded

if TYPE_CHECKING:
    from jobprobe.worker.settings import Settings

#: Seconds open streams (server-sent events) get to end when the server stops.
GRACEFUL_S = 2


@click.command()
@click.option("--host", help="Address to listen on (default JOBPROBE_WEB_HOST, 127.0.0.1).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="Port (default JOBPROBE_WEB_PORT, 8040; 0: any free one).",
)
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    metavar="ADDRS",
    help="Proxies (comma-separated addresses) whose X-Forwarded-For names the client: "
    "a request they forward counts as coming from that client, never from loopback.",
)
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))  # fmt: skip
@options.json_option
@guarded
def serve(
    host: str | None, port: int | None, forwarded_allow_ips: str, log_level: str, as_json: bool
) -> None:
    """Serve the HTTP API, the dashboard and /metrics over this machine's store.

    Reading needs no token from loopback only; listening elsewhere needs
    JOBPROBE_WEB_READ_TOKEN. Submit and cancel need JOBPROBE_WEB_WRITE_TOKEN.
    """
    if "*" in forwarded_allow_ips.split(","):
        fail(
            "--forwarded-allow-ips '*' would let any client name its own address; list the "
            "proxies' addresses",
            USAGE_ERROR,
        )
    settings = context.current().settings
    host = host or settings.web_host
    port = settings.web_port if port is None else port
    try:
        import uvicorn

        from jobprobe.web.app import create_app
    except ImportError as exc:
        fail(
            f"jobprobe serve needs the web extra ({exc.name} is missing): pip install 'jobprobe[web]'"
        )
    check_exposure(host, settings)
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    app = create_app(settings)
    url = f"http://{_url_host(host)}:{bound_port}"
    if as_json:  # one line, flushed: a script reads it, then the server runs on
        click.echo(json.dumps({
            "url": url, "host": host, "port": bound_port, "api": f"{url}/api/v1",
            "docs": f"{url}/api/docs", "metrics": f"{url}/metrics",
            "mode": "embedded" if settings.embedded else "distributed",
        }))  # fmt: skip
        sys.stdout.flush()
    else:
        click.echo(
            f"jobprobe serving {url}  (API {url}/api/v1, docs {url}/api/docs, metrics {url}/metrics)"
        )
        if settings.embedded:
            click.echo("embedded mode: jobs submitted through this server run inside it")
        click.echo("Ctrl-C stops it")
    config = uvicorn.Config(
        app, log_level=log_level, proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips,
        timeout_graceful_shutdown=GRACEFUL_S, server_header=False,
    )  # fmt: skip
    _mask_logs(settings)
    uvicorn.Server(config).run(sockets=[sock])


def _mask_logs(settings: Settings) -> None:
    """No secret in the server's log: uvicorn's handlers (set up with its Config) and the
    root logger's mask the environment's secrets and the settings' (tokens, keys, passwords in
    URLs), tracebacks included (``worker.log_masking``)."""
    import logging
    import os

    from jobprobe.web.errors import settings_secrets
    from jobprobe.worker import log_masking, secrets

    values = [*secrets.known_values(os.environ), *settings_secrets(settings)]
    root = logging.getLogger()
    if not root.handlers:
        # Records of other loggers (the store, libraries) reach the root; without a handler
        # there, logging's unfiltered last resort would print them. This one does what it
        # does (warnings and worse to stderr), masked.
        fallback = logging.StreamHandler()
        fallback.setLevel(logging.WARNING)
        root.addHandler(fallback)
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
        log_masking.install(logging.getLogger(name), values)


def check_exposure(host: str, settings: Settings) -> None:
    """Refuse to listen beyond loopback without a read token (a usage error, one line)."""
    from jobprobe.web.auth import configured, is_loopback_address

    if host.lower() in {"localhost", "localhost."} or is_loopback_address(host):
        return
    if not configured(settings.web_read_token):
        fail(
            f"refusing to listen on {host} without a read token: set JOBPROBE_WEB_READ_TOKEN "
            "(or JOBPROBE_WEB_READ_TOKEN_FILE), or listen on 127.0.0.1",
            USAGE_ERROR,
        )


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (made here so that port 0's choice is known)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        fail(
            f"cannot listen on {host}: {exc.strerror}; give an address of this machine", USAGE_ERROR
        )
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        fail(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port or --host")
    sock.set_inheritable(True)
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
