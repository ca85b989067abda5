"""tasks: thin Celery tasks (run a job, poll ISS, follow-up analysis), their retry policy
(``tasks.retry``), the submission API and the report functions the tasks and commands share
(``tasks.reporting``).

Python API::

    from jobprobe import tasks
    job_id = tasks.submit("python", "examples/poisson.py", params={"n": 200}, labels={"team": "cfd"})
    record = tasks.wait(job_id, timeout=600)
"""

from __future__ import annotations

from jobprobe.tasks import errors
from jobprobe.tasks.submission import create, enqueue, get_record, submit, wait

__all__ = ["create", "enqueue", "errors", "get_record", "submit", "wait"]
