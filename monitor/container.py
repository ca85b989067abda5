"""Running a job as a Docker container through the Engine API (docker SDK)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobprobe.monitor import errors
from jobprobe.monitor.limits import Limits

if TYPE_CHECKING:
    from docker import DockerClient

JOB_LABEL = "jobprobe.job_id"
CONTAINER_WORKDIR = "/job"


def connect(base_url: str | None) -> DockerClient:
    """A docker client for ``base_url`` (or the environment's), or one clear error."""
    try:
        import docker
        import requests
    except ImportError as exc:
        raise errors.ContainerEngineUnavailable(
            "container tools need the docker SDK: pip install 'jobprobe[docker]'"
        ) from exc
    try:
        client = docker.DockerClient(base_url=base_url) if base_url else docker.from_env()
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        where = base_url or "DOCKER_HOST / the default socket"
        raise errors.ContainerEngineUnavailable(
            f"no Docker engine reachable at {where}; start dockerd or set JOBPROBE_DOCKER_HOST"
        ) from exc
    return client


class ContainerJob:
    """A job's container: started detached, labelled with the job id, removed at the end."""

    def __init__(
        self,
        client: DockerClient,
        *,
        image: str,
        command: Sequence[str],
        job_id: str,
        workdir: Path,
        env: Mapping[str, str],
        gpus: int = 0,
        limits: Limits | None = None,
    ) -> None:
        import docker

        self._client = client
        kwargs: dict[str, Any] = {}
        if limits is not None:  # the container's own group carries them
            if limits.mem_bytes is not None:
                kwargs["mem_limit"] = limits.mem_bytes
            if limits.cpus is not None:
                kwargs["nano_cpus"] = round(limits.cpus * 1e9)
            if limits.max_procs is not None:
                kwargs["pids_limit"] = limits.max_procs
        if gpus:
            kwargs["device_requests"] = [
                docker.types.DeviceRequest(count=gpus, capabilities=[["gpu"]])
            ]
        try:
            self.container = client.containers.run(
                image,
                list(command),
                detach=True,
                labels={JOB_LABEL: job_id},
                name=f"jobprobe-{job_id[:12]}",
                working_dir=CONTAINER_WORKDIR,
                volumes={str(workdir): {"bind": CONTAINER_WORKDIR, "mode": "rw"}},
                environment=dict(env),
                network_disabled=True,
                **kwargs,
            )
        except docker.errors.ImageNotFound as exc:
            raise errors.LaunchError(
                f"image {image!r} is not on the Docker engine; build or pull it"
            ) from exc
        except docker.errors.APIError as exc:
            raise errors.LaunchError(
                f"the Docker engine refused the container: {exc.explanation}"
            ) from exc
        self.container.reload()
        self.name = self.container.name
        self.pid = int(self.container.attrs.get("State", {}).get("Pid") or 0) or None
        self._exited = threading.Event()
        self._status: dict[str, Any] = {}
        threading.Thread(target=self._wait, name=f"wait-{self.name}", daemon=True).start()

    def _wait(self) -> None:
        try:
            self._status = self.container.wait()
        except Exception as exc:  # engine gone mid-job: report it as the exit
            self._status = {"StatusCode": -1, "Error": {"Message": str(exc)}}
        self._exited.set()

    def wait(self, timeout: float | None) -> int | None:
        """The exit code, or None if still running after ``timeout`` seconds."""
        if self._exited.wait(timeout):
            return int(self._status.get("StatusCode", -1))
        return None

    def terminate(self, grace: float) -> int:
        """SIGTERM, then SIGKILL after ``grace`` seconds (docker stop)."""
        with contextlib.suppress(Exception):
            self.container.stop(timeout=max(0, round(grace)))
        code = self.wait(grace + 30)
        return -9 if code is None else code

    def oom_killed(self) -> bool:
        """Whether the kernel killed the container for exceeding its memory limit."""
        with contextlib.suppress(Exception):
            self.container.reload()
            return bool(self.container.attrs.get("State", {}).get("OOMKilled"))
        return False

    def save_logs(self, stdout: Path, stderr: Path) -> None:
        """Write the container's stdout and stderr to the job's log files."""
        with contextlib.suppress(Exception):
            stdout.write_bytes(self.container.logs(stdout=True, stderr=False))
            stderr.write_bytes(self.container.logs(stdout=False, stderr=True))

    def remove(self) -> None:
        """Remove the container."""
        with contextlib.suppress(Exception):
            self.container.remove(force=True)
