"""The bottleneck rule table: data, so the README can render it (``rule_table()``).

Each rule names a verdict kind, the USE aspect it checks, and conditions on derived metrics
(computed by ``bottleneck.derive``). Thresholds:

- cpu: tree CPU >= 85 % of the cores it keeps busy (cores busy = mean tree CPU / 100, rounded
  up after a 0.15 tolerance, at most the host's cores).
- contention: the host's CPUs >= 90 % busy while the job kept < 85 % of its cores busy (and at
  least 0.1 cores): other work's load, shown as ``other_cores_busy``, not the job's bottleneck.
- memory: peak >= 90 % of the limit the job had (its own group's, else its container's, else
  host memory), host memory >= 90 % used, or an OOM kill (return code 137/-9, or the group's
  OOM counter) with memory >= 80 % of that limit.
- gpu: mean utilisation >= 85 % on the busiest device the job used, while it used it (from its
  first to its last busy sample: CUDA start-up and tear-down are not the GPU's limit).
- throttled: >= 10 % of samples at a thermal/hardware slowdown reason, or >= 85 C. The software
  power cap is not one: a fully busy GPU normally runs at its power limit.
- disk_io / network: >= 50 MB/s while the CPU is < 60 % busy. Network is the job's own traffic
  only (a container's, or a profile section with ``scope: "job"``): the host's traffic, which a
  process job shares with everything else on the machine, never makes a job network-bound.
- queue: waited >= as long as it ran, and >= 5 s.
- underutilised: held GPUs at < 30 % utilisation.
- waiting: ran >= 2 s on < 0.1 cores with < 1 MB/s of disk I/O (network is not a condition: a
  process job's own traffic is not measurable, and a job waiting on a remote service moves
  little data).
- balanced: none of the above fired; unknown: no CPU or GPU figures at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal[
    "cpu",
    "gpu",
    "memory",
    "disk_io",
    "network",
    "queue",
    "throttled",
    "underutilised",
    "contention",
    "waiting",
    "balanced",
    "unknown",
]
Comparison = Literal[">=", "<"]

# GPU clock-event reasons that mean the device slowed itself (not idle or app-clock settings).
# Not "sw_power_cap": a saturated GPU holds its power limit (a dense bf16 loop on an H100 sat at
# 700 W with the cap set in 18 of 24 samples), which is the GPU being the limit, not a fault.
SLOWDOWN_REASONS = (
    "hw_slowdown",
    "hw_thermal_slowdown",
    "sw_thermal_slowdown",
    "hw_power_brake_slowdown",
)


@dataclass(frozen=True)
class Condition:
    """One test of a derived metric: ``metric comparison threshold``.

    ``full`` is the value at which the condition counts as fully certain; conditions with a
    ``full`` scale the confidence, those without are gates.
    """

    metric: str
    comparison: Comparison
    threshold: float
    full: float | None = None

    def holds(self, value: float) -> bool:
        """Whether ``value`` satisfies the condition."""
        return value >= self.threshold if self.comparison == ">=" else value < self.threshold

    def strength(self, value: float) -> float:
        """0..1: how far past the threshold towards ``full`` the value is."""
        if self.full is None or self.full == self.threshold:
            return 1.0
        return min(1.0, max(0.0, (value - self.threshold) / (self.full - self.threshold)))


@dataclass(frozen=True)
class Rule:
    """A verdict ``kind`` that holds when all ``conditions`` hold, with its advice."""

    kind: Kind
    use: Literal["utilisation", "saturation", "errors", "waiting"]
    conditions: tuple[Condition, ...]
    meaning: str
    advice: str


C = Condition
RULES: tuple[Rule, ...] = (
    Rule(
        "throttled",
        "saturation",
        (C("gpu_slowdown_fraction", ">=", 0.10, 0.5),),
        "a GPU spent >= 10 % of samples at a thermal or hardware slowdown",
        "Check GPU cooling and power delivery (nvidia-smi -q -d PERFORMANCE); the job ran below "
        "its clocks, so timings from this node are not comparable.",
    ),
    Rule(
        "throttled",
        "saturation",
        (C("gpu_max_temp_c", ">=", 85.0, 95.0),),
        "a GPU reached 85 C or more",
        "The GPU ran hot enough to throttle: check airflow, fan curves and neighbouring load.",
    ),
    Rule(
        "gpu",
        "utilisation",
        (C("gpu_active_util_percent", ">=", 85.0, 98.0),),
        "mean GPU utilisation >= 85 % while the job used the GPU",
        "The GPU is the limit: use mixed precision, larger batches per kernel, fused kernels, "
        "or spread the work over more GPUs.",
    ),
    Rule(
        "memory",
        "errors",
        (C("oom_killed", ">=", 1.0), C("mem_limit_fraction", ">=", 0.80)),
        "killed by signal 9 (OOM) with memory >= 80 % of its limit",
        "The job was OOM-killed: raise the memory limit or reduce the working set "
        "(smaller batches, streaming, out-of-core).",
    ),
    Rule(
        "memory",
        "saturation",
        (C("mem_limit_fraction", ">=", 0.90, 1.0),),
        "peak memory >= 90 % of the job's own limit, its container's, or host memory",
        "Memory is at its limit: raise the limit, or reduce the working set; expect swapping "
        "or an OOM kill at larger sizes.",
    ),
    Rule(
        "memory",
        "saturation",
        (C("host_mem_fraction", ">=", 0.90, 0.98),),
        "host memory in use >= 90 % of total",
        "The host is short of memory: run fewer jobs per host or route to a larger worker.",
    ),
    Rule(
        "cpu",
        "utilisation",
        (C("cpu_busy_core_fraction", ">=", 0.85, 0.98),),
        "tree CPU >= 85 % of the cores it keeps busy",
        "CPU-bound: parallelise (more threads/ranks), vectorise, or use a faster algorithm; "
        "more cores will help only if the code scales.",
    ),
    Rule(
        "disk_io",
        "utilisation",
        (C("io_mb_per_s", ">=", 50.0, 300.0), C("cpu_busy_core_fraction", "<", 0.60)),
        "job I/O >= 50 MB/s while CPU < 60 % busy",
        "Disk I/O bound: use faster local scratch, larger sequential writes, compression, or "
        "fewer checkpoints.",
    ),
    Rule(
        "network",
        "utilisation",
        (C("net_mb_per_s", ">=", 50.0, 500.0), C("cpu_busy_core_fraction", "<", 0.60)),
        "the job's own network traffic >= 50 MB/s while CPU < 60 % busy (host traffic never)",
        "Network bound: co-locate data and compute, batch messages, or use a faster fabric.",
    ),
    Rule(
        "contention",
        "saturation",
        (
            C("host_cpu_percent", ">=", 90.0, 99.0),
            C("cpu_busy_core_fraction", "<", 0.85),
            C("cores_busy", ">=", 0.10),
        ),
        "the host's CPUs >= 90 % busy while the job itself was not CPU-bound: other work's load",
        "Other work on this host competed for its CPUs (see other_cores_busy): run fewer "
        "concurrent jobs on this worker, or route the job to a quieter one; its timings here are "
        "not comparable.",
    ),
    Rule(
        "queue",
        "waiting",
        (C("queue_wait_fraction", ">=", 0.50, 0.95), C("queue_wait_s", ">=", 5.0)),
        "waited in the broker >= as long as it ran (and >= 5 s)",
        "Time went to queueing, not running: add workers to this queue, or route it to an "
        "idle queue.",
    ),
    Rule(
        "underutilised",
        "utilisation",
        (C("gpu_util_percent", "<", 30.0, 0.0), C("gpus_held", ">=", 1.0)),
        "held GPUs at < 30 % mean utilisation",
        "GPUs sat idle: feed them faster (more data-loader workers, pinned memory), or request "
        "fewer GPUs.",
    ),
    Rule(
        "waiting",
        "waiting",
        (
            C("cores_busy", "<", 0.10, 0.0),
            C("duration_s", ">=", 2.0),
            C("io_mb_per_s", "<", 1.0),
        ),
        "ran >= 2 s using < 0.1 cores with almost no disk I/O: it mostly waited",
        "The job was mostly waiting (sleep, lock, remote service): find what it waits on.",
    ),
)
del C

# When several kinds fire the earliest wins: causes before symptoms, the job's own limits before
# the host's. A GPU job keeps one host core busy feeding the device, so "gpu" outranks "cpu"; an
# OOM outranks everything it caused; a busy host is "contention" only when the job itself was not
# at a limit of its own.
PRIORITY: tuple[Kind, ...] = (
    "throttled",
    "memory",
    "gpu",
    "cpu",
    "disk_io",
    "network",
    "contention",
    "queue",
    "waiting",
    "underutilised",
)


def rule_table() -> list[dict[str, str]]:
    """The rules as rows (kind, USE aspect, condition, advice) for the README."""
    rows = []
    for rule in RULES:
        test = " and ".join(f"{c.metric} {c.comparison} {c.threshold:g}" for c in rule.conditions)
        rows.append(
            {
                "kind": rule.kind,
                "use": rule.use,
                "when": test,
                "meaning": rule.meaning,
                "advice": rule.advice,
            }
        )
    return rows


def markdown_table() -> str:
    """The rule table as Markdown, for the README."""
    lines = ["| verdict | USE | when | advice |", "| --- | --- | --- | --- |"]
    lines += [f"| {r['kind']} | {r['use']} | `{r['when']}` | {r['advice']} |" for r in rule_table()]
    return "\n".join(lines) + "\n"
