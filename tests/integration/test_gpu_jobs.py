"""GPU jobs on a real NVIDIA GPU: examples/gpu_matmul.py through JobMonitor and the CLI.

Skipped where NVML finds no GPU or this Python has no PyTorch that sees a CUDA device.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from jobprobe.analysis import bottleneck
from jobprobe.monitor import JobMonitor, JobSpec
from jobprobe.monitor.tools import load_registry
from jobprobe.profiler import errors
from jobprobe.profiler.gpu_nvidia import NvidiaSampler
from tests import workers

pytestmark = pytest.mark.gpu
EXAMPLE = workers.ROOT / "examples" / "gpu_matmul.py"


@pytest.fixture(scope="module")
def gpu_name() -> str:
    """The first GPU's name, or a skip saying what is missing."""
    try:
        sampler = NvidiaSampler()
    except errors.SamplerUnavailable as exc:
        pytest.skip(f"no NVIDIA GPU: {exc}")
    name = str(sampler.devices[0]["name"])
    sampler.close()
    probe = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        pytest.skip(f"no PyTorch for {sys.executable}: {last}")
    if probe.stdout.strip() != "True":
        pytest.skip(f"PyTorch sees no CUDA device ({name} is visible to NVML)")
    return name


def assert_busy_gpu_profile(profile: Mapping[str, Any], timeseries: Mapping[str, Any]) -> None:
    """Every sample read the GPU, the job drove it past 50 % and held memory on it."""
    assert "gpu_nvidia" not in profile["unavailable"], profile["unavailable"]
    for key in ("gpu_util_percent", "gpu_mem_used_mb", "gpu_power_w", "gpu_temp_c"):
        values = timeseries[key]
        assert values and all(v is not None for v in values), (key, values)
    device = profile["gpu_stats"]["nvidia"][0]
    assert device["max_util_percent"] > 50, device
    assert device["proc_mem_max_mb"] is not None and device["proc_mem_max_mb"] > 0, device
    assert device["max_mem_used_mb"] > 0 and device["max_power_w"] > 0, device
    assert device["energy_j"] is None or device["energy_j"] > 0, device


def test_matmul_job_through_the_monitor(gpu_name: str, tmp_path: Path) -> None:
    job = JobSpec(
        job_id="9" * 32,
        tool=load_registry()["python"],
        script_name=EXAMPLE.name,
        script_content=EXAMPLE.read_text(),
        timeout_s=300,
        params={"seconds": 6},
        gpus=1,
    )
    out = JobMonitor(sample_interval=0.25).run(job, tmp_path / "job")
    assert out.status == "success", (out.error, out.stderr_tail)
    assert out.metrics["device"] == gpu_name and out.metrics["tflops"] > 0
    assert out.profile is not None
    assert_busy_gpu_profile(out.profile, out.profile["timeseries"])


def test_matmul_job_through_the_cli(gpu_name: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
    path = os.pathsep.join(p for p in (str(workers.ROOT), env.get("PYTHONPATH")) if p)
    env |= {"JOBPROBE_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": path}
    submit = ["submit", "python", "examples/gpu_matmul.py", "--gpus", "1", "--param", "seconds=8"]
    out = workers.run_cli([*submit, "--wait", "--json"], env, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    job_id = json.loads(out.stdout)["task_id"]
    details = workers.run_cli(["job-details", job_id, "--timeseries", "--json"], env)
    assert details.returncode == 0, details.stderr
    rec = json.loads(details.stdout)
    assert rec["status"] == "success" and rec["gpus"] == 1
    assert rec["metrics"]["device"] == gpu_name
    assert_busy_gpu_profile(rec["detailed_profile"], rec["detailed_profile"]["timeseries"])
    # The bottleneck analysis (not part of job-details; computed from its record) names the GPU:
    # a dense matmul loop is GPU-bound, and holding the power cap is not throttling.
    verdict = bottleneck.classify(rec)
    assert verdict.kind == "gpu", verdict.to_dict()
    assert verdict.evidence[0].metric == "gpu_active_util_percent", verdict.to_dict()
    assert not any(m.startswith("gpu:") for m in verdict.missing), verdict.missing
