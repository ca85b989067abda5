"""Control-group files as numbers: pure parsing and arithmetic, no I/O.

Each function takes the text of the files of one job group, keyed ``"<controller>/<file>"``
(``"cpuacct/cpuacct.usage"``, ``"unified/cpu.stat"``; ``None`` where a file could not be read),
and returns figures with a reason for every figure it could not give. v1 controllers come first
and the v2 (``unified``) group fills what they do not give, so the hybrid of both works: on these
machines the v1 controllers hold memory, I/O and tasks and the v2 group holds only ``cpu.stat``.

What each figure means (the README repeats this):

- ``cpu_*_seconds``: CPU time of every task that ever ran in the group, whoever reaped it.
- ``memory_peak_mb``: the kernel's high-water mark of the group's charge (v1
  ``memory.max_usage_in_bytes``, v2 ``memory.peak``): anonymous memory **and page cache** (and,
  on v2, kernel memory), so a job that writes 200 MB of files can peak 200 MB above its heap.
- ``memory_current_mb``: the group's charge now (same composition; v1's figure is approximate
  by up to a few per-CPU batches).
- ``memory_anon_mb``: anonymous memory (heap, stacks; v1 ``total_rss``, v2 ``anon``);
  ``memory_cache_mb``: page cache (v1 ``total_cache``, v2 ``file``), which includes
  ``memory_shmem_mb`` (tmpfs and shared mappings: charged once, to the group that touched it).
- ``io_*``: block-device bytes and operations charged to the group, summed over devices. v1
  sees direct and synchronous I/O and buffered reads; buffered writes flushed later by the
  kernel's writeback are charged to the root group on v1 (v2 charges them to the job).
- ``tasks_current`` / ``tasks_peak``: tasks (threads included) in the group now / at most.
"""

from __future__ import annotations

from collections.abc import Mapping

Files = Mapping[str, str | None]
Figures = dict[str, float | int | None]
Reasons = dict[str, str]

_MB = 1024.0 * 1024.0
#: v1 reports "no limit" as the largest page-aligned 63-bit number.
_V1_UNLIMITED = 1 << 62

#: Every figure :func:`totals` returns, in this order.
KEYS = (
    "cpu_user_seconds",
    "cpu_system_seconds",
    "cpu_total_seconds",
    "memory_peak_mb",
    "memory_current_mb",
    "memory_anon_mb",
    "memory_cache_mb",
    "memory_shmem_mb",
    "memory_limit_mb",
    "oom_kills",
    "io_read_bytes",
    "io_write_bytes",
    "io_read_ops",
    "io_write_ops",
    "tasks_current",
    "tasks_peak",
)

#: What each figure means, for the README and for readers of a record.
MEANING: Mapping[str, str] = {
    "cpu_user_seconds": "user CPU of every task that ever ran in the group (the exact total "
    "split in the kernel's user/system shares)",
    "cpu_system_seconds": "system CPU of every task that ever ran in the group (as above)",
    "cpu_total_seconds": "CPU of every task that ever ran in the group, whoever reaped it",
    "memory_peak_mb": "the kernel's high-water mark of the group's charge: anonymous memory "
    "and page cache (v2: and kernel memory); spikes between samples included",
    "memory_current_mb": "the group's charge now (anonymous memory and page cache)",
    "memory_anon_mb": "anonymous memory (heap, stacks) now",
    "memory_cache_mb": "page cache charged to the group now (files read or written, shmem)",
    "memory_shmem_mb": "shared memory and tmpfs now (part of the cache figure)",
    "memory_limit_mb": "the group's memory limit (null: none set)",
    "oom_kills": "processes the kernel killed for the group's memory limit",
    "io_read_bytes": "bytes read from block devices by the group",
    "io_write_bytes": "bytes written to block devices by the group (v1: not the buffered writes "
    "the kernel flushes later on its own, which v1 charges to the root group)",
    "io_read_ops": "block-device read operations",
    "io_write_ops": "block-device write operations",
    "tasks_current": "tasks (threads included) in the group now",
    "tasks_peak": "the most tasks the group held at once (kernel's pids.peak)",
}


def parse_keyed(text: str) -> dict[str, int]:
    """``key value`` lines (``cpu.stat``, ``memory.stat``, ``cpuacct.stat``, ``*.events``)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return out


def parse_value(text: str) -> int | None:
    """A one-number file (``memory.current``, ``pids.peak``); ``None`` for ``max`` or junk."""
    word = text.strip()
    try:
        return int(word)
    except ValueError:
        return None


def parse_blkio(text: str) -> dict[str, int] | None:
    """v1 ``blkio.throttle.io_service_bytes`` / ``io_serviced`` summed over devices:
    ``{"Read": n, "Write": n}``; ``None`` when the file names no device at all (only the
    ``Total`` line: nothing was counted, which is not the same as nothing done)."""
    out = {"Read": 0, "Write": 0}
    devices = False
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in out:
            devices = True
            out[parts[1]] += int(parts[2])
    return out if devices else None


def parse_io_stat(text: str) -> dict[str, int]:
    """v2 ``io.stat`` (``MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=..``) summed over devices."""
    out = {"rbytes": 0, "wbytes": 0, "rios": 0, "wios": 0}
    for line in text.splitlines():
        for field in line.split()[1:]:
            name, _, value = field.partition("=")
            if name in out:
                out[name] += int(value)
    return out


def count_lines(text: str) -> int:
    """Entries of a ``tasks`` / ``cgroup.threads`` / ``cgroup.procs`` file."""
    return sum(1 for line in text.splitlines() if line.strip())


def _first(files: Files, *names: str) -> tuple[str, str] | None:
    """The first readable ``(name, text)`` among ``names``."""
    for name in names:
        text = files.get(name)
        if text is not None:
            return name, text
    return None


def cpu(files: Files) -> tuple[Figures, Reasons]:
    """User, system and total CPU seconds."""
    keys = ("cpu_user_seconds", "cpu_system_seconds", "cpu_total_seconds")
    for ctl in ("cpuacct", "cpu"):  # "cpu" where cpu and cpuacct are co-mounted
        usage = files.get(f"{ctl}/cpuacct.usage")
        if usage is None or parse_value(usage) is None:
            continue
        total_ns = parse_value(usage) or 0
        # The user/system split (usage_user/usage_sys in ns, else cpuacct.stat in USER_HZ
        # ticks) is tick-sampled and strays from the exact total by several percent: its
        # shares are scaled to the total, so user + system == total.
        u = _opt(files.get(f"{ctl}/cpuacct.usage_user"))
        s = _opt(files.get(f"{ctl}/cpuacct.usage_sys"))
        if u is None or s is None:
            ticks = parse_keyed(files.get(f"{ctl}/cpuacct.stat") or "")
            u, s = ticks.get("user"), ticks.get("system")
        if u is None or s is None:
            figures: Figures = dict.fromkeys(keys)
            figures["cpu_total_seconds"] = total_ns / 1e9
            why = f"no {ctl}/cpuacct.usage_user, usage_sys or cpuacct.stat"
            return figures, {"cpu_user_seconds": why, "cpu_system_seconds": why}
        share = u / (u + s) if u + s else 0.5
        user_ns, sys_ns = total_ns * share, total_ns * (1.0 - share)
        return {
            "cpu_user_seconds": user_ns / 1e9,
            "cpu_system_seconds": sys_ns / 1e9,
            "cpu_total_seconds": total_ns / 1e9,
        }, {}
    stat = files.get("unified/cpu.stat")
    if stat is not None:
        v = parse_keyed(stat)
        if "usage_usec" in v:
            figures = {
                "cpu_user_seconds": _usec(v.get("user_usec")),
                "cpu_system_seconds": _usec(v.get("system_usec")),
                "cpu_total_seconds": _usec(v.get("usage_usec")),
            }
            return figures, {k: "cpu.stat has no such line" for k in keys if figures[k] is None}
    why = "no readable cpuacct.usage (v1) or cpu.stat (v2) in the job's group"
    return dict.fromkeys(keys), dict.fromkeys(keys, why)


def memory(files: Files) -> tuple[Figures, Reasons]:
    """Peak, current, anonymous, cache and shared memory, the limit and OOM kills."""
    figures: Figures = {}
    reasons: Reasons = {}
    if files.get("memory/memory.usage_in_bytes") is not None:
        peak = _opt(files.get("memory/memory.max_usage_in_bytes"))
        current = _opt(files.get("memory/memory.usage_in_bytes"))
        stat = parse_keyed(files.get("memory/memory.stat") or "")
        # total_* include the group's own subgroups (use_hierarchy), the plain ones do not.
        anon = _pick(stat, "total_rss", "rss")
        cache = _pick(stat, "total_cache", "cache")
        shmem = _pick(stat, "total_shmem", "shmem")
        limit = _opt(files.get("memory/memory.limit_in_bytes"))
        limit = None if limit is not None and limit >= _V1_UNLIMITED else limit
        oom = parse_keyed(files.get("memory/memory.oom_control") or "").get("oom_kill")
        where = "memory (v1)"
    elif files.get("unified/memory.current") is not None:
        peak = _opt(files.get("unified/memory.peak"))
        current = _opt(files.get("unified/memory.current"))
        stat = parse_keyed(files.get("unified/memory.stat") or "")
        anon, cache, shmem = stat.get("anon"), stat.get("file"), stat.get("shmem")
        limit = _opt(files.get("unified/memory.max"))
        oom = parse_keyed(files.get("unified/memory.events") or "").get("oom_kill")
        where = "unified (v2)"
        if peak is None:
            reasons["memory_peak_mb"] = "no memory.peak (kernels before 5.19): no peak figure"
    else:
        keys = KEYS[3:10]
        why = "no memory controller in the job's group (v1 memory or v2 memory.current)"
        return dict.fromkeys(keys), dict.fromkeys(keys, why)
    figures = {
        "memory_peak_mb": _mb(peak),
        "memory_current_mb": _mb(current),
        "memory_anon_mb": _mb(anon),
        "memory_cache_mb": _mb(cache),
        "memory_shmem_mb": _mb(shmem),
        "memory_limit_mb": _mb(limit),
        "oom_kills": oom,
    }
    for key, value in figures.items():
        if value is None and key not in reasons:
            reasons[key] = (
                "no memory limit set" if key == "memory_limit_mb" else f"not readable in {where}"
            )
    return figures, reasons


def io(files: Files) -> tuple[Figures, Reasons]:
    """Block-device bytes and operations read and written."""
    keys = ("io_read_bytes", "io_write_bytes", "io_read_ops", "io_write_ops")
    nbytes = files.get("blkio/blkio.throttle.io_service_bytes")
    nops = files.get("blkio/blkio.throttle.io_serviced")
    if nbytes is not None and nops is not None:
        b, o = parse_blkio(nbytes), parse_blkio(nops)
        if b is not None and o is not None:
            return {
                "io_read_bytes": b["Read"],
                "io_write_bytes": b["Write"],
                "io_read_ops": o["Read"],
                "io_write_ops": o["Write"],
            }, {}
        rules = (files.get("blkio/blkio.throttle.read_bps_device") or "").strip()
        rules += (files.get("blkio/blkio.throttle.write_bps_device") or "").strip()
        if rules:  # counting was on and no device was touched: a real zero
            return dict.fromkeys(keys, 0), {}
        why = (
            "the v1 blkio counters list no device and the group has no throttle rule: recent "
            "kernels count a device only once throttling is on for it, so no I/O and "
            "uncounted I/O look the same (a no-op rule when the group is made tells them apart)"
        )
        return dict.fromkeys(keys), dict.fromkeys(keys, why)
    stat = files.get("unified/io.stat")
    if stat is not None:
        v = parse_io_stat(stat)
        return {
            "io_read_bytes": v["rbytes"],
            "io_write_bytes": v["wbytes"],
            "io_read_ops": v["rios"],
            "io_write_ops": v["wios"],
        }, {}
    why = "no blkio (v1) or io (v2) controller in the job's group"
    return dict.fromkeys(keys), dict.fromkeys(keys, why)


def tasks(files: Files) -> tuple[Figures, Reasons]:
    """Tasks (threads included) in the group now, and at most (``None`` without ``pids.peak``:
    a sampler then tracks the largest of its samples)."""
    current = _opt(files.get("pids/pids.current"))
    peak = _opt(files.get("pids/pids.peak"))
    if current is None:
        current = _opt(files.get("unified/pids.current"))
        peak = _opt(files.get("unified/pids.peak"))
    reasons: Reasons = {}
    if current is None:
        found = _first(files, "memory/tasks", "cpuacct/tasks", "unified/cgroup.threads")
        if found is not None:
            current = count_lines(found[1])
        else:
            reasons["tasks_current"] = "no pids controller nor task list in the job's group"
    if peak is None:
        reasons["tasks_peak"] = "no pids.peak in the job's group (a sampler keeps the max)"
    return {"tasks_current": current, "tasks_peak": peak}, reasons


def totals(files: Files) -> tuple[Figures, Reasons]:
    """Every figure of :data:`KEYS` (``None`` where unreadable) and why each ``None`` is."""
    figures: Figures = {}
    reasons: Reasons = {}
    for part in (cpu, memory, io, tasks):
        f, r = part(files)
        figures.update(f)
        reasons.update(r)
    return {k: figures.get(k) for k in KEYS}, reasons


def _opt(text: str | None) -> int | None:
    return None if text is None else parse_value(text)


def _pick(values: Mapping[str, int], *names: str) -> int | None:
    for name in names:
        if name in values:
            return values[name]
    return None


def _mb(value: float | None) -> float | None:
    return None if value is None else value / _MB


def _usec(value: int | None) -> float | None:
    return None if value is None else value / 1e6
