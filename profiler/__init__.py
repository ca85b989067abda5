"""Resource profiling of a job's process tree, its container and the machine.

Public names: :class:`ResourceProfiler`, :class:`ContainerResourceMonitor`, the :mod:`errors`
module, :func:`read_totals` (a job's control-group figures, in :mod:`profiler.cgroup`), and the sampler registry :data:`SAMPLERS` (the one tuple of sampler classes, in
sampling order; :data:`FAMILIES` are their names).
"""

from __future__ import annotations

from jobprobe.profiler import errors
from jobprobe.profiler.base import Sampler
from jobprobe.profiler.cgroup import CgroupSampler, read_totals, read_totals_with_reasons
from jobprobe.profiler.container import ContainerSampler
from jobprobe.profiler.container_monitor import ContainerResourceMonitor
from jobprobe.profiler.disk import DiskSampler
from jobprobe.profiler.gpu_nvidia import NvidiaSampler
from jobprobe.profiler.network import HostNetworkSampler, NetworkSampler
from jobprobe.profiler.process_tree import ProcessTreeSampler
from jobprobe.profiler.registry import FAMILIES, SAMPLERS
from jobprobe.profiler.resource_profiler import ResourceProfiler
from jobprobe.profiler.system import SystemSampler

__all__ = [
    "FAMILIES",
    "SAMPLERS",
    "CgroupSampler",
    "ContainerResourceMonitor",
    "ContainerSampler",
    "DiskSampler",
    "HostNetworkSampler",
    "NetworkSampler",
    "NvidiaSampler",
    "ProcessTreeSampler",
    "ResourceProfiler",
    "Sampler",
    "SystemSampler",
    "errors",
    "read_totals",
    "read_totals_with_reasons",
]
