"""Bottleneck attribution on recorded profiles."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from jobprobe.analysis import bottleneck, fields, rules

Loader = Callable[[str], dict[str, Any]]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("cpu_bound", "cpu"),
        ("memory_bound", "memory"),
        ("io_bound", "disk_io"),
        ("network_bound", "balanced"),  # its network figures are the host's, not the job's
        ("gpu_bound", "gpu"),
        ("gpu_throttled", "throttled"),
        ("idle", "waiting"),  # issue 15: a job that mostly waited is called so
        ("queue_bound", "queue"),
        ("balanced", "balanced"),
        ("missing_gpu", "cpu"),
        ("lost_unprofiled", "unknown"),
    ],
)
def test_each_recorded_profile_gets_its_kind(profile: Loader, name: str, kind: str) -> None:
    verdict = bottleneck.classify(profile(name))
    assert verdict.kind == kind
    assert 0.0 <= verdict.confidence <= 1.0
    assert verdict.advice
    if kind != "unknown":
        assert verdict.evidence
        assert verdict.confidence >= 0.5


def test_host_traffic_never_makes_a_job_network_bound(profile: Loader) -> None:
    # A job that only slept while the machine moved 400 MB/s: host traffic, not the job's.
    record = profile("idle")
    record["detailed_profile"]["network"] = {
        "scope": "host",
        "sent_mb": 400.0 * record["duration_seconds"],
        "recv_mb": 400.0 * record["duration_seconds"],
    }
    verdict = bottleneck.classify(record)
    kinds = {verdict.kind, *(v.kind for v in verdict.secondary)}
    assert "network" not in kinds
    assert verdict.kind == "waiting"
    derived = bottleneck.derive(record)
    assert derived["net_mb_per_s"] is None
    assert derived["host_net_mb_per_s"] == pytest.approx(800.0)
    assert any(m.startswith("net_mb_per_s: the job's own traffic") for m in verdict.missing)


def test_network_bound_from_the_jobs_own_traffic(profile: Loader) -> None:
    record = profile("network_bound")
    record["detailed_profile"]["network"]["scope"] = "job"  # a job in its own namespace
    assert bottleneck.classify(record).kind == "network"
    container = profile("network_bound")
    seconds = container["duration_seconds"]
    container["detailed_profile"]["container_stats"] = {"net_rx_mb": 60.0 * seconds, "net_tx_mb": 0}
    assert bottleneck.classify(container).kind == "network"


def test_evidence_names_metric_value_and_threshold(profile: Loader) -> None:
    verdict = bottleneck.classify(profile("cpu_bound"))
    evidence = verdict.evidence[0]
    assert evidence.metric == "cpu_busy_core_fraction"
    assert evidence.comparison == ">="
    assert evidence.threshold == 0.85
    assert evidence.value > 0.95


def test_gpu_job_without_gpu_samples_gets_no_gpu_verdict_and_says_why(profile: Loader) -> None:
    verdict = bottleneck.classify(profile("missing_gpu"))
    kinds = {verdict.kind, *(v.kind for v in verdict.secondary)}
    assert not kinds & {"gpu", "throttled", "underutilised"}
    gpu_notes = [m for m in verdict.missing if m.startswith("gpu:")]
    assert gpu_notes and "1 GPU(s) requested" in gpu_notes[0]
    assert "DriverNotLoaded" in gpu_notes[0]


def test_gpu_job_keeps_cpu_as_secondary(profile: Loader) -> None:
    verdict = bottleneck.classify(profile("gpu_bound"))
    assert verdict.kind == "gpu"
    assert [v.kind for v in verdict.secondary] == ["cpu"]


def test_oom_kill_is_memory_with_error_evidence(profile: Loader) -> None:
    verdict = bottleneck.classify(profile("memory_bound"))
    assert {e.metric for e in verdict.evidence} >= {"oom_killed", "mem_limit_fraction"}
    assert any("OOM" in a for a in verdict.advice)


def test_healthy_fast_job_is_balanced_with_evidence_below_thresholds(profile: Loader) -> None:
    verdict = bottleneck.classify(profile("balanced"))
    assert verdict.kind == "balanced"
    assert all(e.comparison == "<" and e.value < e.threshold for e in verdict.evidence)


def test_missing_cpu_figures_are_not_zero(profile: Loader) -> None:
    record = profile("cpu_bound")
    del record["detailed_profile"]["process_cpu"]
    del record["resource_usage"]
    derived = bottleneck.derive(record)
    assert derived["cores_busy"] is None
    verdict = bottleneck.classify(record)
    assert verdict.kind != "underutilised"
    assert any(m.startswith("cores_busy") for m in verdict.missing)


def test_cpu_falls_back_to_cpu_seconds_over_duration(profile: Loader) -> None:
    record = profile("cpu_bound")
    del record["detailed_profile"]["process_cpu"]
    assert bottleneck.classify(record).kind == "cpu"


def test_unprofiled_job_is_unknown_with_reason(profile: Loader) -> None:
    verdict = bottleneck.classify(profile("lost_unprofiled"))
    assert verdict.kind == "unknown"
    assert verdict.confidence == 0.0
    assert any("no profile" in m for m in verdict.missing)


def test_verdict_is_json_ready(profile: Loader) -> None:
    data = bottleneck.classify(profile("gpu_throttled")).to_dict()
    assert json.loads(json.dumps(data))["kind"] == "throttled"
    assert data["secondary"][0]["kind"] == "gpu"


def test_rule_table_renders_every_rule() -> None:
    rows = bottleneck.rule_table()
    assert len(rows) == len(bottleneck.RULES)
    assert {r["kind"] for r in rows} >= {
        "cpu",
        "gpu",
        "memory",
        "disk_io",
        "network",
        "queue",
        "throttled",
        "underutilised",
    }
    assert all(r["when"] and r["advice"] for r in rows)


def test_cpu_job_on_a_gpu_host_is_not_blamed_for_idle_gpus(profile: Loader) -> None:
    record = profile("cpu_bound")
    gpu_host = profile("idle")
    record["detailed_profile"]["gpu_stats"] = gpu_host["detailed_profile"]["gpu_stats"]
    record["gpus"] = 0
    verdict = bottleneck.classify(record)
    assert verdict.kind == "cpu"
    assert "underutilised" not in [v.kind for v in verdict.secondary]


def test_oom_reported_by_the_monitor_counts_as_an_error(profile: Loader) -> None:
    record = profile("memory_bound")
    record["returncode"] = 1
    record["error"] = "the container was killed for exceeding its memory limit (OOM)"
    assert bottleneck.derive(record)["oom_killed"] == 1.0
    record.pop("error")
    record["returncode"] = None
    assert bottleneck.derive(record)["oom_killed"] is None


def test_the_memory_rule_uses_the_limit_the_job_really_had(profile: Loader) -> None:
    record = profile("balanced")
    peak = fields.memory_peak_mb(record)
    assert peak is not None
    host_fraction = bottleneck.derive(record)["mem_limit_fraction"]
    # A limit asked for but not applied changes nothing; one applied is the job's ceiling.
    record["limits"] = {"mem_mb": peak / 0.95, "applied": False, "reason": "no memory group"}
    assert bottleneck.derive(record)["mem_limit_fraction"] == host_fraction
    record["limits"]["applied"] = True
    assert bottleneck.derive(record)["mem_limit_fraction"] == pytest.approx(0.95)
    record["oom_kills"] = 1
    record["returncode"] = -9
    verdict = bottleneck.classify(record)
    assert verdict.kind == "memory"
    assert {e.metric for e in verdict.evidence} >= {"oom_killed", "mem_limit_fraction"}


def test_rule_table_markdown() -> None:
    table = rules.markdown_table()
    assert table.startswith("| verdict | USE | when | advice |")
    assert table.count("\n") == len(bottleneck.RULES) + 2


def test_saturated_gpu_at_its_power_cap_is_gpu_bound_not_throttled(profile: Loader) -> None:
    # As measured on an H100 (a bf16 matmul loop for 8 s of an 11.7 s job): idle while CUDA
    # started, then 99-100 %, holding the 700 W cap in 18 of 24 samples.
    job = profile("gpu_bound")
    job["detailed_profile"]["samples_collected"] = 24
    device = job["detailed_profile"]["gpu_stats"]["nvidia"][0]
    device.update(mean_util_percent=66.5, active_mean_util_percent=99.1,
                  throttle_reasons={"gpu_idle": 5, "sw_power_cap": 18})  # fmt: skip
    verdict = bottleneck.classify(job)
    assert verdict.kind == "gpu"
    assert verdict.evidence[0].metric == "gpu_active_util_percent"
    assert "throttled" not in {v.kind for v in verdict.secondary}


def test_other_jobs_gpus_on_the_host_do_not_count(profile: Loader) -> None:
    job = profile("gpu_bound")
    own = job["detailed_profile"]["gpu_stats"]["nvidia"][0]
    own.update(mean_util_percent=12.0, active_mean_util_percent=12.0, max_util_percent=30.0)
    neighbour = {**own, "index": 1, "uuid": "GPU-other", "mean_util_percent": 99.0,
                 "active_mean_util_percent": 99.0, "proc_mem_max_mb": 0.0}  # fmt: skip
    job["detailed_profile"]["gpu_stats"]["nvidia"].append(neighbour)
    verdict = bottleneck.classify(job)
    kinds = [verdict.kind, *(v.kind for v in verdict.secondary)]
    assert "gpu" not in kinds and "underutilised" in kinds, kinds
    assert bottleneck.derive(job)["gpu_util_percent"] == 12.0


def test_a_busy_host_is_contention_not_the_jobs_cpu(profile: Loader) -> None:
    record = profile("balanced")
    record["duration_seconds"] = 20.0
    record["detailed_profile"]["process_cpu"]["mean_percent"] = 39.0
    record["detailed_profile"]["cpu"]["mean_percent"] = 97.0
    record.setdefault("host", {})["cpu_count"] = 2
    verdict = bottleneck.classify(record)
    assert verdict.kind == "contention", verdict
    others = next(e for e in verdict.evidence if e.metric == "other_cores_busy")
    assert others.value == pytest.approx(2 * 0.97 - 0.39)
    assert "cpu" not in [v.kind for v in verdict.secondary]


def test_a_cpu_bound_job_on_a_busy_host_is_cpu_bound(profile: Loader) -> None:
    record = profile("cpu_bound")
    record["detailed_profile"]["cpu"]["mean_percent"] = 99.0
    assert bottleneck.classify(record).kind == "cpu"


def test_a_job_that_slept_on_a_busy_host_waited(profile: Loader) -> None:
    record = profile("idle")
    record["detailed_profile"]["cpu"]["mean_percent"] = 98.0
    verdict = bottleneck.classify(record)
    assert verdict.kind == "waiting" and verdict.confidence >= 0.5
