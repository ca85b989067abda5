"""The container sampler against a real Docker engine (``.ci/dockerd-up``)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from jobprobe.profiler import ContainerResourceMonitor, ResourceProfiler, errors

pytestmark = pytest.mark.docker

IMAGE = "jobprobe-busybox:local"
# ~30 MB held in a shell variable while the shell counts to 300000, eight times (a few seconds,
# so the engine sends several stats frames).
WORK = (
    'x=$(head -c 30000000 /dev/zero | tr "\\0" a); r=0; while [ $r -lt 8 ]; do '
    "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; r=$((r+1)); done; echo ${#x}"
)


@pytest.fixture
def client(docker_host: str) -> Iterator[Any]:
    import docker

    c = docker.DockerClient(base_url=docker_host, timeout=30)
    yield c
    c.close()


@pytest.fixture
def busy_container(client: Any) -> Iterator[Any]:
    name = f"jobprobe-test-{uuid.uuid4().hex[:8]}"
    container = client.containers.run(
        IMAGE, ["sh", "-c", WORK], name=name, detach=True, network_disabled=True, mem_limit="256m"
    )
    yield container
    container.remove(force=True)


def test_container_monitor_reports_cpu_and_memory(docker_host: str, busy_container: Any) -> None:
    monitor = ContainerResourceMonitor(busy_container.name, base_url=docker_host, interval=0.25)
    info = monitor.get_container_info()
    assert info["id"] == busy_container.id
    assert info["memory_limit_mb"] == 256.0
    assert info["pid"] and info["status"] in {"running", "exited"}
    monitor.start_monitoring()
    assert busy_container.wait(timeout=60)["StatusCode"] == 0
    t = time.monotonic()
    result = monitor.stop_monitoring()
    assert time.monotonic() - t < 0.3
    stats = result["container_stats"]
    assert stats["cpu_percent"] > 0
    assert stats["cpu_percent_max"] > 50  # one busy shell on a 2-core machine
    assert stats["memory_usage_mb"] > 25
    assert stats["memory_limit_mb"] == 256.0
    assert 0 < stats["memory_percent"] < 100
    assert stats["net_rx_mb"] is None  # networking disabled: no interfaces, so no figure
    assert result["samples_collected"] >= 4


def test_resource_profiler_with_container(docker_host: str, busy_container: Any) -> None:
    samples: list[dict[str, Any]] = []
    profiler = ResourceProfiler(0.5, samples.append, gpu=False, docker_base_url=docker_host)
    profiler.start_profiling(container=busy_container.id)
    assert busy_container.wait(timeout=60)["StatusCode"] == 0
    profile = profiler.stop_profiling()
    assert "container" not in profile["unavailable"]
    assert profile["container_stats"]["cpu_percent"] > 0
    assert profile["container_stats"]["memory_usage_mb"] > 25
    assert any(s["container_cpu_percent"] for s in samples)
    assert "container_mem_mb" in profile["timeseries"]


def test_missing_container_is_unavailable(docker_host: str) -> None:
    monitor = ContainerResourceMonitor("jobprobe-no-such-container", base_url=docker_host)
    with pytest.raises(errors.SamplerUnavailable, match="no container"):
        monitor.start_monitoring()
