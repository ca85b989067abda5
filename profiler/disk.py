"""Machine-wide block I/O counters (all disks)."""

from __future__ import annotations

import psutil

from profiler import errors
from profiler.base import Sample, Sampler


class DiskSampler(Sampler):
    """Bytes and operations read and written by all block devices."""

    name = "disk"
    keys = ("disk_read_bytes", "disk_write_bytes", "disk_read_count", "disk_write_count")
    counters = keys
    rates = {
        "disk_read_bytes": ("disk_read_bps", 1.0),
        "disk_write_bytes": ("disk_write_bps", 1.0),
    }

    def __init__(self) -> None:
        if psutil.disk_io_counters() is None:
            raise errors.SamplerUnavailable("no block devices with I/O statistics")

    def sample(self) -> Sample:
        """Read the cumulative disk counters."""
        io = psutil.disk_io_counters()
        if io is None:
            return dict.fromkeys(self.keys)
        return {
            "disk_read_bytes": io.read_bytes,
            "disk_write_bytes": io.write_bytes,
            "disk_read_count": io.read_count,
            "disk_write_count": io.write_count,
        }
