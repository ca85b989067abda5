"""The NVML sampler over recorded answers, and against real NVML where there is a GPU."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import pytest

from jobprobe.profiler import ResourceProfiler, errors
from jobprobe.profiler.gpu_nvidia import NvidiaSampler

from .fake_nvml import FakeNvml

MB = 2**20


def test_recorded_h100_answers_become_sample_keys() -> None:
    nvml = FakeNvml(job_pid=4242)
    sampler = NvidiaSampler(nvml=nvml, pids=lambda: [4242, 4243])
    assert [d["name"] for d in sampler.devices] == ["NVIDIA H100 80GB HBM3"] * 2
    assert sampler.devices[0]["mem_total_mb"] == pytest.approx(85520809984 / MB)
    sampler.sample()  # idle tick
    s = sampler.sample()
    assert s["gpu0_util_percent"] == 97.0
    assert s["gpu0_mem_util_percent"] == 61.0
    assert s["gpu0_mem_used_mb"] == 40960.0
    assert s["gpu0_power_w"] == pytest.approx(612.345)
    assert s["gpu0_temp_c"] == 58.0
    assert s["gpu0_sm_clock_mhz"] == 1980.0
    assert s["gpu0_throttle_reasons"] == ["sw_power_cap"]
    assert s["gpu0_proc_mem_mb"] == pytest.approx(42391830528 / MB)  # not the other user's
    assert s["gpu1_power_w"] is None and s["gpu1_energy_mj"] is None  # NotSupported -> null
    assert s["gpu_util_percent"] == pytest.approx(50.0)  # mean over devices
    assert s["gpu_mem_used_mb"] == 40960.0 + 1024.0  # sum
    assert s["gpu_power_w"] == pytest.approx(612.345)  # sum of what was readable
    assert s["gpu_temp_c"] == 58.0  # max
    assert s["gpu_throttle_reasons"] == ["sw_power_cap"]
    assert set(s) == set(sampler.keys)
    sampler.close()
    assert nvml.shutdowns == 1


def test_unsupported_field_is_warned_about_once(caplog: pytest.LogCaptureFixture) -> None:
    sampler = NvidiaSampler(nvml=FakeNvml())
    for _ in range(5):
        sampler.sample()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert sorted(r.getMessage().split(":")[1].split("(")[0].strip() for r in warnings) == [
        "cannot read energy",
        "cannot read power",
    ]


def test_library_missing_is_unavailable() -> None:
    with pytest.raises(errors.SamplerUnavailable, match="NVML Shared Library Not Found"):
        NvidiaSampler(nvml=FakeNvml(library_missing=True))


def test_profile_gpu_section_from_recorded_answers() -> None:
    nvml = FakeNvml(job_pid=os.getpid())
    samples: list[dict[str, Any]] = []
    profiler = ResourceProfiler(0.02, samples.append, nvml=nvml)
    profiler.start_profiling()
    deadline = time.monotonic() + 5
    while len(samples) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    profile = profiler.stop_profiling()
    dev0, dev1 = profile["gpu_stats"]["nvidia"]
    assert dev0["uuid"] == "GPU-5b2c1f7e-3a9d-4c61-8e0f-2d7a9b4c6e11"
    assert dev0["max_util_percent"] == 100.0
    assert dev0["max_temp_c"] == 66.0
    # Energy over the job: the final counter reading minus the one at start, in joules (read
    # twice in all: the recording's first two answers).
    assert dev0["energy_j"] == pytest.approx((912651851 - 912345678) / 1000)
    assert dev0["throttle_reasons"]["sw_thermal_slowdown"] >= 1
    assert dev0["proc_mem_max_mb"] == pytest.approx(42391830528 / MB)
    assert dev1["energy_j"] is None and dev1["mean_power_w"] is None
    assert "gpu_nvidia" not in profile["unavailable"]
    assert nvml.shutdowns == 1


def test_energy_counter_is_read_first_when_due_and_at_the_end() -> None:
    sampler = NvidiaSampler(nvml=FakeNvml(), energy_every_s=3600.0)
    first, between, final = sampler.sample(), sampler.sample(), sampler.final_sample()
    assert first["gpu0_energy_mj"] == 912345678.0
    assert between["gpu0_energy_mj"] is None  # not due: not read, so null (never a stale value)
    assert final["gpu0_energy_mj"] == 912651851.0  # the counter's next answer
    assert between["gpu0_power_w"] is not None  # the rest is read every tick
    every = NvidiaSampler(nvml=FakeNvml(), energy_every_s=0.0)
    assert [every.sample()["gpu0_energy_mj"] for _ in range(3)] == [
        912345678.0, 912651851.0, 913000851.0
    ]  # fmt: skip


@pytest.mark.gpu
def test_real_nvml() -> None:
    import pynvml

    try:
        sampler = NvidiaSampler(pids=lambda: [os.getpid()])
    except errors.SamplerUnavailable as exc:
        pytest.skip(f"no NVIDIA GPU: {exc}")
    try:
        s = sampler.sample()
        assert s["gpu0_mem_used_mb"] is not None
        assert s["gpu_util_percent"] is not None
        assert sampler.devices[0]["name"]
    finally:
        sampler.close()
    assert pynvml is not None
