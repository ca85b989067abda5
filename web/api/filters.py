"""The job filters of the listing routes (``job-history``'s options), as query parameters,
parsed by ``queries.filters.JobFilters`` (one rule for the CLI, the API and the chat)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query


class Filters:
    """The job filters of the listing routes (``job-history``'s), as query parameters."""

    def __init__(
        self,
        status: Annotated[str | None, Query(description="Only jobs with this status.")] = None,
        tool: Annotated[str | None, Query(description="Only jobs of this tool.")] = None,
        queue: Annotated[str | None, Query(description="Only jobs of this queue.")] = None,
        label: Annotated[
            list[str] | None, Query(description="KEY=VALUE; repeat for several (all must match).")
        ] = None,
        since: Annotated[
            str | None, Query(description="Submitted since: 2026-11-01, or a span: 30m, 6h, 2d.")
        ] = None,
        until: Annotated[
            str | None, Query(description="Submitted before: a date/time or a span ago.")
        ] = None,
        source: Annotated[str | None, Query(description="local or iss.")] = None,
    ) -> None:
        from jobprobe.queries.filters import JobFilters

        self.value = JobFilters.parse(
            status=status, tool=tool, labels=label or (), since=since, queue=queue,
            source=source, until=until, flag="",
        )  # fmt: skip


FiltersDep = Annotated[Filters, Depends()]
