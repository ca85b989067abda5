"""The retry table: transient errors retry with a bounded, jittered backoff; others fail at once.

Retries on a worker are exercised by the fault tests (tests/integration/test_faults.py); here a
private eager app checks what runs in-process.
"""

from __future__ import annotations

from collections.abc import Iterator

import kombu.exceptions
import pytest
import redis.exceptions
from celery import Celery

from jobprobe.iss_client import errors as iss_errors
from jobprobe.llm import errors as llm_errors
from jobprobe.store import errors as store_errors
from jobprobe.tasks import broker, retry


@pytest.fixture
def app() -> Iterator[Celery]:
    app = Celery("retry-test", set_as_current=False)
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield app
    app.close()


def test_each_transient_error_has_a_bounded_policy() -> None:
    store = retry.policy_for(store_errors.StoreUnavailable("down"))
    assert store is not None and store.max_retries == 20 and store.backoff_max == 300.0
    # A subclass finds its family's policy: rate limiting is an ISS transient error.
    limited = iss_errors.IssRateLimitedError(retry_after=7.0)
    assert retry.policy_for(limited) is retry.POLICIES[iss_errors.IssTransientError]
    assert retry.policy_for(llm_errors.LlmUnavailable()) is not None
    assert retry.policy_for(kombu.exceptions.OperationalError("refused")) is not None
    for permanent in (
        store_errors.JobNotFound("no job"),
        store_errors.StoreError("bad cursor"),
        iss_errors.IssNotFoundError(),
        iss_errors.IssAuthError(),
        llm_errors.LlmResponseError(),
        ValueError("bug"),
    ):
        assert retry.policy_for(permanent) is None, permanent


def test_backoff_grows_is_jittered_and_capped() -> None:
    policy = retry.POLICIES[store_errors.StoreUnavailable]
    low = [policy.delay(n, rand=lambda: 0.0) for n in range(12)]
    high = [policy.delay(n, rand=lambda: 1.0) for n in range(12)]
    assert low[:3] == [1.0, 2.0, 4.0] and high[:3] == [2.0, 4.0, 8.0]
    assert max(high) == policy.backoff_max and max(low) == policy.backoff_max / 2


def test_in_process_a_transient_error_reaches_the_caller_as_itself(app: Celery) -> None:
    calls: list[int] = []

    @app.task(base=retry.RetryingTask)
    def flaky() -> None:
        calls.append(1)
        raise store_errors.StoreUnavailable("database restarting")

    with pytest.raises(store_errors.StoreUnavailable):
        flaky.delay().get()
    assert calls == [1]


def test_a_permanent_error_fails_at_once(app: Celery) -> None:
    calls: list[int] = []

    @app.task(base=retry.RetryingTask)
    def broken() -> None:
        calls.append(1)
        raise iss_errors.IssNotFoundError("no such job")

    with pytest.raises(iss_errors.IssNotFoundError):
        broken.delay().get()
    assert calls == [1]


def test_broker_errors_are_the_connection_errors_only() -> None:
    assert broker.unreachable(kombu.exceptions.OperationalError("Connection refused"))
    assert broker.unreachable(redis.exceptions.ConnectionError("Connection refused"))
    # Celery's Redis result store gives up with a RuntimeError raised from the connection error.
    try:
        try:
            raise redis.exceptions.ConnectionError("Connection refused")
        except redis.exceptions.ConnectionError as exc:
            raise RuntimeError("Retry limit exceeded") from exc
    except RuntimeError as gave_up:
        assert broker.unreachable(gave_up)
    assert not broker.unreachable(RuntimeError("a bug"))
    assert not broker.unreachable(TypeError("not JSON serializable"))
