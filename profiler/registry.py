"""The sampler registry: one class per metric family, in the order a tick samples them."""

from __future__ import annotations

from jobprobe.profiler.base import Sampler
from jobprobe.profiler.container import ContainerSampler
from jobprobe.profiler.disk import DiskSampler
from jobprobe.profiler.gpu_nvidia import NvidiaSampler
from jobprobe.profiler.network import NetworkSampler
from jobprobe.profiler.process_tree import ProcessTreeSampler
from jobprobe.profiler.system import SystemSampler

#: Every sampler. The process tree comes before the GPU, which charges GPU memory to its pids.
SAMPLERS: tuple[type[Sampler], ...] = (
    SystemSampler,
    ProcessTreeSampler,
    DiskSampler,
    NetworkSampler,
    NvidiaSampler,
    ContainerSampler,
)
#: The family names (``Sampler.name``), as a profile's ``unavailable`` and ``families=`` use them.
FAMILIES: tuple[str, ...] = tuple(s.name for s in SAMPLERS)
