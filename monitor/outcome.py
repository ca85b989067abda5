"""What a finished job's outcome is made of: how it ended, its peaks and I/O folded from the
profile and the OS, its metrics file, the files it left and the tails of its logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jobprobe.monitor import workdirs
from jobprobe.store import storable
from jobprobe.store.status import JobStatus

TAIL_BYTES = 4096
METRICS_FILE = "metrics.json"


def tail(path: Path) -> str:
    """The last ``TAIL_BYTES`` of a log file as storable text ("" when it cannot be read):
    bytes that are not UTF-8 read ``\\xXX``, NUL reads ``␀`` (``store.storable``)."""
    try:
        with path.open("rb") as fh:
            start = max(0, path.stat().st_size - TAIL_BYTES)
            fh.seek(start)
            data = fh.read()
    except OSError:
        return ""
    if start:  # the cut may fall inside a character: begin at the next one
        skip = 0
        while skip < min(3, len(data)) and 0x80 <= data[skip] <= 0xBF:
            skip += 1
        data = data[skip:]
    return storable.decode(data)


def fold_profile_peaks(rusage: dict[str, float | None], profile: dict[str, Any] | None) -> None:
    """Peak memory: the largest of the OS's peak (when it is the job's), the sampled RSS sum of
    the tree, and the sampled sum of its processes' own high-water marks (VmHWM)."""
    if not profile:
        return
    memory = profile.get("process_memory") or {}
    candidates = [rusage.get("memory_peak_mb"), memory.get("max_mb"), memory.get("peak_hwm_mb")]
    candidates.append((profile.get("container_stats") or {}).get("memory_usage_mb"))
    known = [c for c in candidates if isinstance(c, int | float)]
    rusage["memory_peak_mb"] = round(max(known), 3) if known else None


def fold_exact_io(profile: dict[str, Any] | None, ru: Any) -> None:
    """Complete the tree's I/O with wait4's block counts (512-byte units on Linux).

    I/O that the last processes did after the final sample, and that moved into a parent
    reaped before the next one, is only in the rusage of the root; the larger figure wins.
    """
    io = (profile or {}).get("io_stats")
    if not isinstance(io, dict):
        return
    for key, blocks in (("read_mb", ru.ru_inblock), ("write_mb", ru.ru_oublock)):
        exact = blocks * 512 / 2**20
        if io.get(key) is None or exact > io[key]:
            io[key] = round(exact, 3)
    if io.get("read_mb") is not None and io.get("write_mb") is not None:
        io["total_io_mb"] = round(io["read_mb"] + io["write_mb"], 3)


def verdict(
    stopped: JobStatus | None, code: int | None, timeout_s: float, stderr: Path
) -> tuple[JobStatus, str | None]:
    """How a job ended: stopped first (timeout, cancelled), else by its exit code; a failure
    says why, with the last line of its stderr."""
    if stopped == JobStatus.TIMEOUT:
        return stopped, f"killed after its {timeout_s:g} s timeout"
    if stopped == JobStatus.CANCELLED:
        return stopped, "cancelled on request"
    if code == 0:
        return JobStatus.SUCCESS, None
    last = next((ln for ln in reversed(tail(stderr).splitlines()) if ln.strip()), "")
    why = (
        f"exited with code {code}"
        if code is not None and code >= 0
        else f"killed by signal {-(code or 0)}"
    )
    return JobStatus.FAILED, f"{why}: {last.strip()}" if last else why


def read_metrics(path: Path) -> tuple[dict[str, Any], str | None]:
    """The job's metrics file (a JSON object), and why it could not be used when it was not.

    Made storable (``store.storable.clean_metrics``): text that is not UTF-8 or holds NUL is
    escaped, and NaN or Infinity become null, their keys listed under ``_non_finite``.
    """
    if not path.is_file():
        return {}, None
    try:
        # surrogateescape and strict=False: bad bytes and raw control characters in strings
        # are kept (then escaped) rather than losing the whole file.
        data = json.loads(path.read_bytes().decode("utf-8", "surrogateescape"), strict=False)
        if not isinstance(data, dict):
            return {}, f"the job's metrics file {path.name} must hold a JSON object"
        return storable.clean_metrics(data), None
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        reason = storable.text(str(exc))
        return {}, f"the job's metrics file {path.name} is not valid JSON: {reason}"


def artifacts(workdir: Path, *, skip: str, limit: int = 1000) -> list[dict[str, Any]]:
    """The files the job left in ``workdir`` (path and size), its logs and ``skip`` (its
    script) left out; at most ``limit``. Names that are not UTF-8 are escaped (``\\xXX``)."""
    left_out = {skip, *workdirs.LOG_FILES.values()}
    out: list[dict[str, Any]] = []
    for path in sorted(workdir.rglob("*")):
        if path.is_file() and path.name not in left_out:
            # A name that is not UTF-8 is kept printable: its bad bytes read \xXX.
            name = storable.text(str(path.relative_to(workdir)))
            out.append({"path": name, "bytes": path.stat().st_size})
            if len(out) >= limit:
                break
    return out
