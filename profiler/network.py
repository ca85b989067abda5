"""The host's network traffic (every interface but loopback), which is not the job's.

A process job shares the host's network namespace: the kernel counts bytes per interface, not per
process or group, so these counters are everything the machine sent and received while the job
ran. The profile reports them as ``host_network`` (and under the Keystone name ``network``, with
``scope: "host"``), and the bottleneck analysis does not read them as the job's. Loopback is left
out: its bytes are counted on both ends of a local connection and never leave the machine.
"""

from __future__ import annotations

from jobprobe.profiler import errors
from jobprobe.profiler.base import Sample, Sampler, Target
from jobprobe.profiler.procfs import read_text

#: Interfaces left out of the host's traffic.
LOOPBACK = frozenset({"lo"})


def parse_net_dev(text: str, skip: frozenset[str] = LOOPBACK) -> dict[str, int]:
    """Sum ``/proc/net/dev`` over interfaces not in ``skip``: ``recv_bytes``, ``recv_packets``,
    ``sent_bytes``, ``sent_packets``."""
    out = {"recv_bytes": 0, "recv_packets": 0, "sent_bytes": 0, "sent_packets": 0}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        if not sep or "|" in rest or name.strip() in skip:
            continue
        f = rest.split()
        if len(f) < 10:
            continue
        out["recv_bytes"] += int(f[0])
        out["recv_packets"] += int(f[1])
        out["sent_bytes"] += int(f[8])
        out["sent_packets"] += int(f[9])
    return out


class HostNetworkSampler(Sampler):
    """Bytes and packets the host sent and received over every interface but loopback."""

    name = "host_network"
    # The sample keys keep their names (the store has columns for their rates).
    keys = ("net_sent_bytes", "net_recv_bytes", "net_packets_sent", "net_packets_recv")
    counters = keys
    rates = {
        "net_sent_bytes": ("net_sent_bps", 1.0),
        "net_recv_bytes": ("net_recv_bps", 1.0),
    }

    @classmethod
    def open(cls, target: Target) -> HostNetworkSampler:
        """The host's interfaces, read under ``target.proc_root``."""
        return cls(proc_root=target.proc_root)

    def __init__(self, *, proc_root: str = "/proc") -> None:
        self._path = f"{proc_root}/net/dev"
        if read_text(self._path) is None:
            raise errors.SamplerUnavailable(f"cannot read {self._path}")

    def sample(self) -> Sample:
        """Read the cumulative counters."""
        text = read_text(self._path)
        if text is None:
            return dict.fromkeys(self.keys)
        v = parse_net_dev(text)
        return {
            "net_sent_bytes": v["sent_bytes"],
            "net_recv_bytes": v["recv_bytes"],
            "net_packets_sent": v["sent_packets"],
            "net_packets_recv": v["recv_packets"],
        }


#: The former name, for code that imports it.
NetworkSampler = HostNetworkSampler
