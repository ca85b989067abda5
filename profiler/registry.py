"""The sampler registry: one class per metric family, in the order a tick samples them."""

from __future__ import annotations

from jobprobe.profiler.base import Sampler
from jobprobe.profiler.cgroup import CgroupSampler
from jobprobe.profiler.container import ContainerSampler
from jobprobe.profiler.disk import DiskSampler
from jobprobe.profiler.gpu_nvidia import NvidiaSampler
from jobprobe.profiler.network import HostNetworkSampler
from jobprobe.profiler.process_tree import ProcessTreeSampler
from jobprobe.profiler.system import SystemSampler

#: Every sampler. The job's group or process tree (one of the two runs) comes before the GPU,
#: which charges GPU memory to the job's pids.
SAMPLERS: tuple[type[Sampler], ...] = (
    SystemSampler,
    CgroupSampler,
    ProcessTreeSampler,
    DiskSampler,
    HostNetworkSampler,
    NvidiaSampler,
    ContainerSampler,
)
#: The family names (``Sampler.name``), as a profile's ``unavailable`` and ``families=`` use them.
FAMILIES: tuple[str, ...] = tuple(s.name for s in SAMPLERS)
