"""Container tools on the real Docker engine: the job runs in a labelled container, is profiled, removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobprobe.monitor import JobMonitor, JobSpec, errors
from jobprobe.monitor.tools import Tool
from tests.services import BUSYBOX_IMAGE

pytestmark = [pytest.mark.integration, pytest.mark.docker]

SCRIPT = (
    "echo start $SIM_LEVEL\n"
    "i=0; while [ $i -lt 3000000 ]; do i=$((i+1)); done\n"
    'echo \'{"iterations": 3000000}\' > "$JOBPROBE_METRICS_FILE"\n'
    "echo done >&2\n"
)


# Docker's stats stream sends about one frame a second, so the job runs a few seconds:
# a container shorter than two frames honestly has no CPU % (null, never 0).
def test_container_job_is_profiled_and_removed(docker_host: str, tmp_path: Path) -> None:
    import docker

    tool = Tool(name="bb", command=("sh", "{script}"), image=BUSYBOX_IMAGE)
    job = JobSpec(
        job_id="c" * 32,
        tool=tool,
        script_name="work.sh",
        script_content=SCRIPT,
        timeout_s=120,
        params={"level": 3},
    )
    out = JobMonitor(sample_interval=0.2, docker_base_url=docker_host).run(job, tmp_path)
    assert out.status == "success", out.error
    assert "start 3" in out.stdout_tail and "done" in out.stderr_tail
    assert out.metrics == {"iterations": 3000000}
    assert out.profile is not None
    stats = out.profile["container_stats"]
    assert stats["cpu_percent"] > 0 and stats["memory_usage_mb"] > 0
    assert (
        out.resource_usage["cpu_total_seconds"] is not None
        and out.resource_usage["cpu_total_seconds"] > 0
    )
    client = docker.DockerClient(base_url=docker_host)
    assert client.containers.list(all=True, filters={"label": f"jobprobe.job_id={'c' * 32}"}) == []
    client.close()


def test_container_timeout_stops_it(docker_host: str, tmp_path: Path) -> None:
    tool = Tool(name="bb", command=("sh", "{script}"), image=BUSYBOX_IMAGE)
    job = JobSpec(
        job_id="d" * 32, tool=tool, script_name="w.sh", script_content="sleep 60\n", timeout_s=1
    )
    out = JobMonitor(enable_profiling=False, kill_grace=1, docker_base_url=docker_host).run(
        job, tmp_path
    )
    assert out.status == "timeout" and out.duration_s < 20


def test_missing_engine_is_one_clear_line(tmp_path: Path) -> None:
    tool = Tool(name="bb", command=("sh", "{script}"), image=BUSYBOX_IMAGE)
    job = JobSpec(
        job_id="e" * 32, tool=tool, script_name="w.sh", script_content="true\n", timeout_s=60
    )
    with pytest.raises(errors.ContainerEngineUnavailable, match="no Docker engine reachable"):
        JobMonitor(docker_base_url="unix:///nonexistent/docker.sock").run(job, tmp_path)
