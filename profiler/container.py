"""One Docker container through the engine API: the streaming stats endpoint on a thread.

``docker stats --no-stream`` and one-shot stats calls take about a second each, so a daemon thread
follows the streaming endpoint and keeps the latest frame; :meth:`ContainerSampler.sample` turns
that frame into numbers without blocking.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Mapping
from typing import Any

from jobprobe.profiler import errors
from jobprobe.profiler.base import Sample, Sampler, Target

log = logging.getLogger(__name__)

_MB = 1024.0 * 1024.0
#: cgroup v1 reports no limit as a huge page-aligned number.
_NO_LIMIT = 1 << 60


def cpu_percent(frame: Mapping[str, Any]) -> float | None:
    """CPU percent of one stats frame: ``cpu_delta / system_delta * online_cpus * 100``."""
    cur, pre = frame.get("cpu_stats") or {}, frame.get("precpu_stats") or {}
    try:
        cpu_delta = cur["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"]
        system_delta = cur["system_cpu_usage"] - pre["system_cpu_usage"]
    except (KeyError, TypeError):
        return None
    cpus = cur.get("online_cpus") or len(cur["cpu_usage"].get("percpu_usage") or ()) or 1
    if system_delta <= 0:
        return None
    return max(0.0, cpu_delta) / system_delta * cpus * 100.0


def memory_used_bytes(frame: Mapping[str, Any]) -> float | None:
    """Memory usage minus page cache (cgroup v1 ``cache``, v2 ``inactive_file``)."""
    mem = frame.get("memory_stats") or {}
    usage = mem.get("usage")
    if usage is None:
        return None
    stats = mem.get("stats") or {}
    if "cache" in stats:  # cgroup v1
        return float(usage - stats["cache"])
    if "inactive_file" in stats:  # cgroup v2
        return float(usage - stats["inactive_file"])
    return float(usage)


def memory_limit_bytes(frame: Mapping[str, Any]) -> float | None:
    """The memory limit, or ``None`` when unset."""
    limit = (frame.get("memory_stats") or {}).get("limit")
    if not limit or limit >= _NO_LIMIT:
        return None
    return float(limit)


def network_bytes(frame: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """(rx, tx) bytes summed over the container's interfaces; ``None`` without networking."""
    nets = frame.get("networks")
    if not nets:
        return None, None
    rx = sum(n.get("rx_bytes", 0) for n in nets.values())
    tx = sum(n.get("tx_bytes", 0) for n in nets.values())
    return float(rx), float(tx)


def block_bytes(frame: Mapping[str, Any]) -> tuple[float, float] | tuple[None, None]:
    """(read, write) bytes from ``blkio_stats.io_service_bytes_recursive`` (v1 ``Read``, v2
    ``read``); ``None`` when the engine reports no list at all."""
    entries = (frame.get("blkio_stats") or {}).get("io_service_bytes_recursive")
    if entries is None:
        return None, None
    read = write = 0.0
    for e in entries:
        op = str(e.get("op", "")).lower()
        if op == "read":
            read += e.get("value", 0)
        elif op == "write":
            write += e.get("value", 0)
    return read, write


def parse_stats(frame: Mapping[str, Any]) -> Sample:
    """One stats frame as sample keys (bytes raw; counters are made relative by the caller)."""
    used = memory_used_bytes(frame)
    limit = memory_limit_bytes(frame)
    rx, tx = network_bytes(frame)
    blk_read, blk_write = block_bytes(frame)
    return {
        "container_cpu_percent": cpu_percent(frame),
        "container_mem_mb": None if used is None else used / _MB,
        "container_mem_limit_mb": None if limit is None else limit / _MB,
        "container_net_rx_bytes": rx,
        "container_net_tx_bytes": tx,
        "container_block_read_bytes": blk_read,
        "container_block_write_bytes": blk_write,
    }


class ContainerSampler(Sampler):
    """Latest stats frame of one container (name or id), streamed on a daemon thread."""

    name = "container"
    keys = (
        "container_cpu_percent",
        "container_mem_mb",
        "container_mem_limit_mb",
        "container_net_rx_bytes",
        "container_net_tx_bytes",
        "container_block_read_bytes",
        "container_block_write_bytes",
    )
    counters = (
        "container_net_rx_bytes",
        "container_net_tx_bytes",
        "container_block_read_bytes",
        "container_block_write_bytes",
    )

    @classmethod
    def open(cls, target: Target) -> ContainerSampler | None:
        """``target.container``, if the job runs in one."""
        if target.container is None:
            return None
        return cls(target.container, base_url=target.docker_base_url, client=target.docker_client)

    def __init__(self, container: str, *, base_url: str | None = None, client: Any = None) -> None:
        try:
            import docker
            import docker.errors
        except ImportError as exc:
            raise errors.SamplerUnavailable(
                "the docker SDK is not installed (pip install 'jobprobe[docker]')"
            ) from exc
        self._owns_client = client is None
        try:
            self._client = client or docker.DockerClient(base_url=base_url, timeout=10)
            self.container = self._client.containers.get(container)
        except docker.errors.NotFound as exc:
            self._close_client()
            raise errors.SamplerUnavailable(f"no container {container!r}") from exc
        except docker.errors.DockerException as exc:
            self._close_client()
            raise errors.SamplerUnavailable(f"Docker engine unavailable: {exc}") from exc
        api = self._client.api
        url = f"{api.base_url}/v{api.api_version}/containers/{self.container.id}/stats"
        self._response = api.get(url, params={"stream": True}, stream=True)
        self._lock = threading.Lock()
        self._latest: dict[str, Any] | None = None
        self._frames = 0
        self._closing = threading.Event()
        self._thread = threading.Thread(
            target=self._follow, name=f"container-stats-{container}", daemon=True
        )
        self._thread.start()

    @property
    def frames(self) -> int:
        """How many stats frames the engine has sent so far."""
        return self._frames

    def _follow(self) -> None:
        try:
            for line in self._response.iter_lines():
                if line:
                    frame = json.loads(line)
                    with self._lock:
                        self._latest = frame
                        self._frames += 1
        except Exception as exc:  # the stream ends in many ways when closed; only report others
            if not self._closing.is_set():
                log.warning("container stats stream ended: %s", exc)

    def latest_frame(self) -> dict[str, Any] | None:
        """The most recent raw stats frame (``None`` before the first one arrives)."""
        with self._lock:
            return self._latest

    def sample(self) -> Sample:
        """Numbers from the latest frame; all ``None`` until the engine sent one."""
        frame = self.latest_frame()
        if frame is None:
            return dict.fromkeys(self.keys)
        return parse_stats(frame)

    def close(self) -> None:
        """Close the stream so the thread returns, then the client."""
        self._closing.set()
        sock = _socket_of(self._response)
        if sock is not None:
            # Wakes the blocked read at once; OSError means the engine already closed it.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._response.close()
        self._thread.join(timeout=1.0)
        self._close_client()

    def _close_client(self) -> None:
        if self._owns_client and getattr(self, "_client", None) is not None:
            self._client.close()


def _socket_of(response: Any) -> socket.socket | None:
    """The socket under a streaming ``requests`` response, if it can be reached."""
    obj: Any = getattr(response, "raw", None)
    for attr in ("_fp", "fp", "raw", "_sock"):
        obj = getattr(obj, attr, None)
        if obj is None:
            return None
    return obj if isinstance(obj, socket.socket) else None
