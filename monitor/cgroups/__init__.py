"""Per-job control groups: a job attempt's processes run, are counted, limited and killed as one.

``Cgroups(parent).create(job_id, attempt)`` gives a ``JobGroup``: a ``V2Group`` on a unified
host, a ``V1Group`` on v1 and hybrid hosts (with the v2 group beside the v1 ones), or the
``ProcessTreeGroup`` fallback where nothing is writable. ``BACKENDS`` lists them by the name
the record's ``accounting`` field gives.
"""

from __future__ import annotations

from jobprobe.monitor.cgroups import errors
from jobprobe.monitor.cgroups.base import Applied, JobGroup
from jobprobe.monitor.cgroups.discovery import Hierarchy, discover
from jobprobe.monitor.cgroups.fallback import ProcessTreeGroup
from jobprobe.monitor.cgroups.guard import Guard
from jobprobe.monitor.cgroups.manager import Cgroups, group_name
from jobprobe.monitor.cgroups.v1 import V1Group
from jobprobe.monitor.cgroups.v2 import V2Group

#: The group kinds, by the record's ``accounting`` name.
BACKENDS: dict[str, type[JobGroup]] = {
    V2Group.version: V2Group,
    V1Group.version: V1Group,
    ProcessTreeGroup.version: ProcessTreeGroup,
}

__all__ = [
    "BACKENDS", "Applied", "Cgroups", "Guard", "Hierarchy", "JobGroup", "ProcessTreeGroup",
    "V1Group", "V2Group", "discover", "errors", "group_name",
]  # fmt: skip
