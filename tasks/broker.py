"""The errors that say the broker (or a Redis result store) cannot be reached.

Submission turns these, and only these, into ``errors.BrokerUnavailable``; the retry table
treats them as transient.
"""

from __future__ import annotations

import kombu.exceptions
import redis.exceptions

#: kombu raises OperationalError for any transport's connection failure; redis-py's own errors
#: come from a Redis result store.
BROKER_ERRORS: tuple[type[Exception], ...] = (
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def unreachable(exc: BaseException) -> bool:
    """True when ``exc``, or the error it was raised from, is one of ``BROKER_ERRORS`` (Celery's
    Redis result store raises a RuntimeError from the connection error once it gives up)."""
    return isinstance(exc, BROKER_ERRORS) or isinstance(exc.__cause__, BROKER_ERRORS)
