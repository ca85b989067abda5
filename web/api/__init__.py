"""The HTTP API (JSON under /api/v1): the same records the CLI prints with ``--json``.

One router module per resource; every route needs read access (``web.auth.require_read``),
and those that change state the write token too. Order matters where paths overlap:
``/jobs/stats`` is declared before ``/jobs/{job_id}``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from jobprobe.web import auth
from jobprobe.web.api import chat, compare, fleet, iss, jobs, reports, sweeps, usage

router = APIRouter(dependencies=[Depends(auth.require_read)])
for _module in (jobs, sweeps, compare, usage, reports, fleet, iss, chat):
    router.include_router(_module.router)
