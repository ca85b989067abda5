"""Retry policy by error type, for every Celery task.

A transient error (the store, ISS, a language model or the broker out of reach for a while)
retries the task with jittered exponential backoff, a bounded number of times; any other error
is permanent and fails the task at once. Tasks declare ``base=RetryingTask`` and nothing else
about retries. A task run in-process (embedded mode) is not retried: its caller gets the error.
"""

from __future__ import annotations

from typing import Any

from celery import Task

from jobprobe.iss_client import errors as iss_errors
from jobprobe.iss_client.transport import RetryPolicy
from jobprobe.llm import errors as llm_errors
from jobprobe.store import errors as store_errors
from jobprobe.tasks import broker

_FEW_MINUTES = RetryPolicy(max_retries=5, backoff_base=1.0, backoff_max=300.0)

#: Transient error type -> its policy (the first match along the error's class hierarchy).
POLICIES: dict[type[Exception], RetryPolicy] = {
    # The store down: a task that claims a job or writes a report starts clean when retried;
    # 2, 4, 8 ... 300 s, about an hour in all.
    store_errors.StoreUnavailable: RetryPolicy(max_retries=20, backoff_base=2.0, backoff_max=300.0),
    # ISS busy, rate limiting (its Retry-After is honoured) or unreachable.
    iss_errors.IssTransientError: _FEW_MINUTES,
    llm_errors.LlmUnavailable: RetryPolicy(max_retries=4, backoff_base=1.0, backoff_max=300.0),
    **dict.fromkeys(broker.BROKER_ERRORS, _FEW_MINUTES),
}
TRANSIENT: tuple[type[Exception], ...] = tuple(POLICIES)


def policy_for(exc: BaseException) -> RetryPolicy | None:
    """The policy of a transient error, None for a permanent one."""
    return next((POLICIES[c] for c in type(exc).__mro__ if c in POLICIES), None)


class RetryingTask(Task):
    """A task that retries its transient errors by ``POLICIES``; others fail it at once."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except TRANSIENT as exc:
            if self.request.is_eager:
                raise
            policy = policy_for(exc)
            assert policy is not None
            delay = policy.delay(self.request.retries, getattr(exc, "retry_after", None))
            raise self.retry(exc=exc, countdown=delay, max_retries=policy.max_retries) from exc
