"""jobprobe: run simulation and benchmark jobs on Celery workers and profile every one.

The installed package maps the repository's top-level folders into one import name:
``jobprobe.worker`` (the Celery app), ``jobprobe.tasks`` (the Python API), ``jobprobe.cli``
(the ``jobprobe`` command), and ``monitor``, ``profiler``, ``store``, ``iss_client``,
``analysis``, ``llm`` beside them. Importing this package imports nothing else, so the
command line starts fast.
"""

from __future__ import annotations

__version__ = "0.1.0"
