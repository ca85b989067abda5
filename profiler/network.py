"""Machine-wide network counters (all interfaces)."""

from __future__ import annotations

import psutil

from jobprobe.profiler.base import Sample, Sampler, Target


class NetworkSampler(Sampler):
    """Bytes and packets sent and received over all interfaces."""

    name = "network"
    keys = ("net_sent_bytes", "net_recv_bytes", "net_packets_sent", "net_packets_recv")
    counters = keys
    rates = {
        "net_sent_bytes": ("net_sent_bps", 1.0),
        "net_recv_bytes": ("net_recv_bps", 1.0),
    }

    @classmethod
    def open(cls, target: Target) -> NetworkSampler:
        """Every interface of the machine."""
        return cls()

    def sample(self) -> Sample:
        """Read the cumulative network counters."""
        io = psutil.net_io_counters()
        return {
            "net_sent_bytes": io.bytes_sent,
            "net_recv_bytes": io.bytes_recv,
            "net_packets_sent": io.packets_sent,
            "net_packets_recv": io.packets_recv,
        }
