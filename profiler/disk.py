"""Machine-wide block I/O counters, summed over whole disks (partitions are not added twice)."""

from __future__ import annotations

import os

from jobprobe.profiler import errors
from jobprobe.profiler.base import Sample, Sampler, Target
from jobprobe.profiler.procfs import read_text

#: ``/proc/diskstats`` counts sectors of 512 bytes whatever the device's sector size.
SECTOR = 512


def parse_diskstats(text: str, disks: frozenset[str] | None = None) -> dict[str, int]:
    """Sum reads, writes, and bytes read and written over the devices named in ``disks`` (all
    when ``None``), from ``/proc/diskstats``."""
    out = {"read_count": 0, "read_bytes": 0, "write_count": 0, "write_bytes": 0}
    for line in text.splitlines():
        f = line.split()
        if len(f) < 10 or (disks is not None and f[2] not in disks):
            continue
        out["read_count"] += int(f[3])
        out["read_bytes"] += int(f[5]) * SECTOR
        out["write_count"] += int(f[7])
        out["write_bytes"] += int(f[9]) * SECTOR
    return out


def whole_disks(sys_block: str = "/sys/block") -> frozenset[str]:
    """Whole block devices (not partitions), skipping loop, ram and zram (memory) devices."""
    try:
        names = os.listdir(sys_block)
    except FileNotFoundError:
        return frozenset()
    return frozenset(n for n in names if not n.startswith(("loop", "ram", "zram")))


class DiskSampler(Sampler):
    """Bytes and operations read and written by the machine's disks."""

    name = "disk"
    keys = ("disk_read_bytes", "disk_write_bytes", "disk_read_count", "disk_write_count")
    counters = keys
    rates = {
        "disk_read_bytes": ("disk_read_bps", 1.0),
        "disk_write_bytes": ("disk_write_bps", 1.0),
    }

    @classmethod
    def open(cls, target: Target) -> DiskSampler:
        """The machine's disks, read under ``target.proc_root``."""
        return cls(proc_root=target.proc_root)

    def __init__(self, *, proc_root: str = "/proc", sys_block: str = "/sys/block") -> None:
        self._path = f"{proc_root}/diskstats"
        self._disks = whole_disks(sys_block)
        text = read_text(self._path)
        if not text or not self._disks:
            raise errors.SamplerUnavailable(f"no disks with I/O statistics in {self._path}")

    def sample(self) -> Sample:
        """Read the cumulative disk counters."""
        text = read_text(self._path)
        if not text:
            return dict.fromkeys(self.keys)
        io = parse_diskstats(text, self._disks)
        return {
            "disk_read_bytes": io["read_bytes"],
            "disk_write_bytes": io["write_bytes"],
            "disk_read_count": io["read_count"],
            "disk_write_count": io["write_count"],
        }
