"""Bottleneck attribution for one finished job, following the USE method.

For each resource the record is checked for Utilisation (busy fraction), Saturation (at or over
its limit: memory near the cgroup limit, a GPU held at clock-event reasons) and Errors (an OOM
kill). The rules are data (``RULES``) so the README can render them; every condition that fires
becomes an ``Evidence`` row. A figure that could not be measured is reported in ``missing`` and
never taken as 0: no GPU verdict without GPU samples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from jobprobe.analysis import fields, rules
from jobprobe.analysis.rules import Kind

# Re-exported so callers (and the README) find the table beside ``classify``.
RULES = rules.RULES
rule_table = rules.rule_table


@dataclass(frozen=True)
class Evidence:
    """One measured figure compared with a rule threshold."""

    metric: str
    value: float
    threshold: float
    comparison: str


@dataclass
class Verdict:
    """What limited a job, how sure we are, why, and what to do about it."""

    kind: Kind
    confidence: float
    evidence: list[Evidence] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    secondary: list[Verdict] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _rate(record: Mapping[str, Any], path: str) -> float | None:
    total, duration = fields.num(record, path), fields.duration_s(record)
    return total / duration if total is not None and duration else None


def _job_net_mb_per_s(record: Mapping[str, Any]) -> float | None:
    """The job's own network traffic, MB/s: a container's (its own network namespace), or a
    profile network section marked ``scope: "job"``. Host-wide traffic (``scope: "host"``, and
    records without a scope, which were always the host's) is not the job's: ``None``."""
    duration = fields.duration_s(record)
    if not duration:
        return None
    rx = fields.num(record, "detailed_profile.container_stats.net_rx_mb")
    tx = fields.num(record, "detailed_profile.container_stats.net_tx_mb")
    if rx is not None and tx is not None:
        return (rx + tx) / duration
    if fields.get(record, "detailed_profile.network.scope") == "job":
        sent = fields.num(record, "detailed_profile.network.sent_mb")
        recv = fields.num(record, "detailed_profile.network.recv_mb")
        if sent is not None and recv is not None:
            return (sent + recv) / duration
    return None


def _slowdown_fraction(record: Mapping[str, Any]) -> float | None:
    samples = fields.num(record, "detailed_profile.samples_collected")
    devices = fields.gpu_devices(record)
    if not devices or not samples:
        return None
    worst = 0.0
    for device in devices:
        reasons = device.get("throttle_reasons")
        if not isinstance(reasons, Mapping):
            continue
        # Reasons overlap in time; the largest single count is a lower bound on slowed samples.
        counts = [float(reasons.get(name) or 0) for name in rules.SLOWDOWN_REASONS]
        worst = max(worst, max(counts) / samples)
    return worst


def _cpu(record: Mapping[str, Any]) -> tuple[float | None, float | None]:
    percent = fields.num(record, "detailed_profile.process_cpu.mean_percent")
    if percent is None:
        seconds, duration = fields.cpu_seconds(record), fields.duration_s(record)
        percent = 100.0 * seconds / duration if seconds is not None and duration else None
    if percent is None:
        return None, None
    busy = percent / 100.0
    # Cores it keeps busy: rounded up after a 0.15 tolerance for sampling noise over an integer.
    cores = max(1, math.ceil(busy - 0.15))
    host = fields.num(record, "host.cpu_count")
    if host:
        cores = min(cores, int(host))
    return busy, busy / cores


def _mem_limit_fraction(record: Mapping[str, Any]) -> float | None:
    """Peak memory over the limit the job really had: its own group's limit where one was
    applied, else its container's, else the host's memory."""
    peak = fields.memory_peak_mb(record)
    limit = None
    if fields.get(record, "limits.applied") is True:
        limit = fields.num(record, "limits.mem_mb")
    if limit is None:
        limit = fields.num(record, "detailed_profile.container_stats.memory_limit_mb")
    if limit is None:
        limit = fields.num(record, "host.mem_total_mb")
    container_pct = fields.num(record, "detailed_profile.container_stats.memory_percent")
    fractions = [container_pct / 100.0] if container_pct is not None else []
    if peak is not None and limit:
        fractions.append(peak / limit)
    return max(fractions) if fractions else None


def _queue(record: Mapping[str, Any]) -> tuple[float | None, float | None]:
    wait, duration = fields.num(record, "queue_wait_seconds"), fields.duration_s(record)
    if wait is None or duration is None or wait + duration <= 0:
        return wait, None
    return wait, wait / (wait + duration)


def _gpu_max_temp(record: Mapping[str, Any]) -> float | None:
    temps = [fields.num(d, "max_temp_c") for d in fields.gpu_devices(record)]
    known = [t for t in temps if t is not None]
    return max(known) if known else None


def _gpu_util(record: Mapping[str, Any], *, active: bool = False) -> float | None:
    """Mean utilisation of the busiest device: over the whole job, or (``active``) over the
    stretch it used the device (profiles older than that figure give the whole-job mean)."""
    utils = []
    for d in fields.gpu_devices(record):
        value = fields.num(d, "active_mean_util_percent") if active else None
        utils.append(fields.num(d, "mean_util_percent") if value is None else value)
    known = [u for u in utils if u is not None]
    return max(known) if known else None


def _oom_killed(record: Mapping[str, Any]) -> float | None:
    """1.0 when the job was (probably) OOM-killed: the monitor said so, the container state
    says so, or it died of SIGKILL (137/-9; the memory gate in the rule rules out other kills)."""
    error = record.get("error")
    if isinstance(error, str) and "OOM" in error:
        return 1.0
    if fields.get(record, "detailed_profile.container_stats.oom_killed") is True:
        return 1.0
    oom_kills = fields.num(record, "oom_kills")  # the job group's own OOM counter
    if oom_kills:
        return 1.0
    returncode = record.get("returncode")
    if isinstance(returncode, int):
        return float(returncode in (137, -9))
    return None


def derive(record: Mapping[str, Any]) -> dict[str, float | None]:
    """The derived metrics the rules test, ``None`` where they could not be computed."""
    busy, busy_fraction = _cpu(record)
    wait, wait_fraction = _queue(record)
    host_mem = fields.num(record, "detailed_profile.memory.max_used_mb")
    host_total = fields.num(record, "host.mem_total_mb")
    host_sent = _rate(record, "detailed_profile.network.sent_mb")
    host_recv = _rate(record, "detailed_profile.network.recv_mb")
    held = fields.gpus_held(record)
    host_cpu = fields.num(record, "detailed_profile.cpu.mean_percent")
    host_cores = fields.num(record, "host.cpu_count")
    others = (
        None
        if host_cpu is None or not host_cores or busy is None
        else max(0.0, host_cpu / 100.0 * host_cores - busy)
    )
    return {
        "cores_busy": busy,
        # Evidence of contention: the host's busy cores that were not the job's.
        "other_cores_busy": others,
        "cpu_busy_core_fraction": busy_fraction,
        "host_cpu_percent": host_cpu,
        "mem_limit_fraction": _mem_limit_fraction(record),
        "host_mem_fraction": host_mem / host_total if host_mem is not None and host_total else None,
        "oom_killed": _oom_killed(record),
        "io_mb_per_s": _rate(record, "detailed_profile.io_stats.total_io_mb"),
        "net_mb_per_s": _job_net_mb_per_s(record),
        # Shown, never judged: the machine's traffic, other work's included.
        "host_net_mb_per_s": None
        if host_sent is None or host_recv is None
        else host_sent + host_recv,
        "gpu_util_percent": _gpu_util(record),
        "gpu_active_util_percent": _gpu_util(record, active=True),
        "gpu_max_temp_c": _gpu_max_temp(record),
        "gpu_slowdown_fraction": _slowdown_fraction(record),
        "gpus_held": None if held is None else float(held),
        "queue_wait_s": wait,
        "queue_wait_fraction": wait_fraction,
        "duration_s": fields.duration_s(record),
    }


def _missing(record: Mapping[str, Any], derived: Mapping[str, float | None]) -> list[str]:
    unavailable = fields.get(record, "detailed_profile.unavailable")
    reasons = dict(unavailable) if isinstance(unavailable, Mapping) else {}
    out: list[str] = []
    if not isinstance(record.get("detailed_profile"), Mapping):
        out.append("detailed_profile: the job has no profile")
    if derived["gpu_util_percent"] is None:
        why = reasons.get("gpu") or "no GPU samples in the profile"
        held = record.get("gpus")
        prefix = (
            f"gpu: {held} GPU(s) requested but " if isinstance(held, int) and held > 0 else "gpu: "
        )
        out.append(f"{prefix}no GPU verdict possible ({why})")
    for sampler, why in sorted(reasons.items()):
        if sampler != "gpu":
            out.append(f"{sampler}: {why}")
    for name in (
        "cores_busy",
        "mem_limit_fraction",
        "io_mb_per_s",
        "queue_wait_fraction",
    ):
        if derived[name] is None:
            out.append(f"{name}: not computable from this record")
    if derived["net_mb_per_s"] is None:
        out.append(
            "net_mb_per_s: the job's own traffic is not measurable (no network namespace of its "
            "own); the host's traffic is in the profile but is not the job's, so no network verdict"
        )
    return out


def _confidence(
    rule: rules.Rule, derived: Mapping[str, float | None], samples: float | None
) -> float:
    strengths = [
        c.strength(derived[c.metric] or 0.0) for c in rule.conditions if c.full is not None
    ]
    base = 0.55 + 0.4 * (min(strengths) if strengths else 1.0)
    if rule.kind != "queue" and (samples is None or samples < 4):
        base *= 0.7  # a handful of samples may miss the steady state
    return round(base, 2)


def _fire(
    rule: rules.Rule, derived: Mapping[str, float | None], samples: float | None
) -> Verdict | None:
    evidence = []
    for condition in rule.conditions:
        value = derived.get(condition.metric)
        if value is None or not condition.holds(value):
            return None
        evidence.append(
            Evidence(condition.metric, round(value, 4), condition.threshold, condition.comparison)
        )
    others = derived.get("other_cores_busy")
    if rule.kind == "contention" and others is not None:
        # Shown, not tested: how much of the host the other work took.
        evidence.append(Evidence("other_cores_busy", round(others, 4), 0.0, ">="))
    return Verdict(rule.kind, _confidence(rule, derived, samples), evidence, [rule.advice])


def _merge(verdicts: list[Verdict]) -> list[Verdict]:
    by_kind: dict[str, Verdict] = {}
    for verdict in verdicts:
        seen = by_kind.get(verdict.kind)
        if seen is None:
            by_kind[verdict.kind] = verdict
            continue
        seen.confidence = max(seen.confidence, verdict.confidence)
        seen.evidence.extend(e for e in verdict.evidence if e not in seen.evidence)
        seen.advice.extend(a for a in verdict.advice if a not in seen.advice)
    return sorted(by_kind.values(), key=lambda v: rules.PRIORITY.index(v.kind))


def _balanced(derived: Mapping[str, float | None], samples: float | None) -> Verdict:
    evidence = []
    for rule in RULES:
        condition = rule.conditions[0]
        value = derived.get(condition.metric)
        if (
            rule.kind not in ("underutilised", "waiting", "contention")
            and value is not None
            and condition.comparison == ">="
            and condition.full is not None
        ):
            evidence.append(Evidence(condition.metric, round(value, 4), condition.threshold, "<"))
    unique = list({e.metric: e for e in evidence}.values())
    confidence = 0.8 if samples and samples >= 4 else 0.6
    advice = (
        "No resource is near its limit and the job did not wait: it is balanced. To go "
        "faster, profile the code itself (hot functions), or run more jobs per worker."
    )
    return Verdict("balanced", confidence, unique, [advice])


def classify(record: Mapping[str, Any]) -> Verdict:
    """Classify what limited a finished job (see ``RULES``; ``PRIORITY`` picks the primary)."""
    derived = derive(record)
    missing = _missing(record, derived)
    samples = fields.num(record, "detailed_profile.samples_collected")
    if derived["cores_busy"] is None and derived["gpu_util_percent"] is None:
        reason = "no CPU or GPU figures in the record (status " + str(record.get("status")) + ")"
        return Verdict(
            "unknown", 0.0, [], ["Re-run the job with the profiler enabled."], [reason, *missing]
        )
    fired = [v for v in (_fire(rule, derived, samples) for rule in RULES) if v is not None]
    verdicts = _merge(fired)
    if not verdicts:
        verdict = _balanced(derived, samples)
    else:
        verdict, verdict.secondary = verdicts[0], verdicts[1:]
    verdict.missing = missing
    return verdict
