"""Resource profiling of a job's process tree, its container and the machine.

Public names: :class:`ResourceProfiler`, :class:`ContainerResourceMonitor`, the :mod:`errors`
module, and the sampler registry :data:`SAMPLERS` (family name -> sampler class).
"""

from __future__ import annotations

from jobprobe.profiler import errors
from jobprobe.profiler.base import Sampler
from jobprobe.profiler.container import ContainerSampler
from jobprobe.profiler.container_monitor import ContainerResourceMonitor
from jobprobe.profiler.disk import DiskSampler
from jobprobe.profiler.gpu_nvidia import NvidiaSampler
from jobprobe.profiler.network import NetworkSampler
from jobprobe.profiler.process_tree import ProcessTreeSampler
from jobprobe.profiler.resource_profiler import FAMILIES, ResourceProfiler
from jobprobe.profiler.system import SystemSampler

#: The samplers, by family name (the order they are sampled in).
SAMPLERS: dict[str, type[Sampler]] = {
    "system": SystemSampler,
    "process_tree": ProcessTreeSampler,
    "disk": DiskSampler,
    "network": NetworkSampler,
    "gpu_nvidia": NvidiaSampler,
    "container": ContainerSampler,
}

__all__ = [
    "FAMILIES",
    "SAMPLERS",
    "ContainerResourceMonitor",
    "ContainerSampler",
    "DiskSampler",
    "NetworkSampler",
    "NvidiaSampler",
    "ProcessTreeSampler",
    "ResourceProfiler",
    "Sampler",
    "SystemSampler",
    "errors",
]
