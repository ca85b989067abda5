"""``ContainerResourceMonitor``: profile one Docker container on its own."""

from __future__ import annotations

from typing import Any

from jobprobe.profiler import errors
from jobprobe.profiler.resource_profiler import ResourceProfiler


class ContainerResourceMonitor:
    """Sample one container's CPU, memory, network and block I/O every ``interval`` seconds."""

    def __init__(
        self,
        container_name: str,
        *,
        base_url: str | None = None,
        interval: float = 0.5,
        docker_client: Any = None,
    ) -> None:
        self.container_name = container_name
        self.base_url = base_url
        self.interval = interval
        self._docker_client = docker_client
        self._profiler: ResourceProfiler | None = None

    def start_monitoring(self) -> None:
        """Start sampling; raises :class:`profiler.errors.SamplerUnavailable` without an engine
        or container."""
        profiler = ResourceProfiler(
            self.interval,
            docker_base_url=self.base_url,
            families=("container",),
            docker_client=self._docker_client,
        )
        profiler.start_profiling(container=self.container_name)
        if "container" in profiler.unavailable:
            profiler.stop_profiling()
            raise errors.SamplerUnavailable(profiler.unavailable["container"])
        self._profiler = profiler

    def stop_monitoring(self) -> dict[str, Any]:
        """Stop and return ``duration_seconds``, ``samples_collected``,
        ``sampling_interval_seconds``, ``container_stats`` and the ``timeseries``."""
        if self._profiler is None:
            raise errors.ProfilerStateError("stop_monitoring called before start_monitoring")
        profile = self._profiler.stop_profiling()
        self._profiler = None
        keep = (
            "duration_seconds",
            "samples_collected",
            "sampling_interval_seconds",
            "container_stats",
            "sampling_jitter_ms",
            "unavailable",
            "timeseries",
        )
        return {k: profile[k] for k in keep}

    def get_container_info(self) -> dict[str, Any]:
        """Id, name, image, state, host pid and resource limits of the container."""
        try:
            import docker
            import docker.errors
        except ImportError as exc:
            raise errors.SamplerUnavailable("the docker SDK is not installed") from exc
        client = self._docker_client or docker.DockerClient(base_url=self.base_url, timeout=10)
        try:
            c = client.containers.get(self.container_name)
            attrs = c.attrs
        except docker.errors.DockerException as exc:
            raise errors.SamplerUnavailable(
                f"cannot inspect container {self.container_name!r}: {exc}"
            ) from exc
        finally:
            if self._docker_client is None:
                client.close()
        state = attrs.get("State") or {}
        host = attrs.get("HostConfig") or {}
        return {
            "id": c.id,
            "name": c.name,
            "image": (attrs.get("Config") or {}).get("Image"),
            "status": state.get("Status"),
            "pid": state.get("Pid") or None,
            "started_at": state.get("StartedAt"),
            "exit_code": state.get("ExitCode"),
            "oom_killed": state.get("OOMKilled"),
            "nano_cpus": host.get("NanoCpus") or None,
            "memory_limit_mb": (host["Memory"] / (1024.0 * 1024.0)) if host.get("Memory") else None,
        }
