"""Errors of job submission and the tasks."""

from __future__ import annotations


class TaskError(Exception):
    """A jobprobe task or submission failed."""


class SubmitError(TaskError):
    """The job cannot be submitted as given (bad input); nothing was queued."""


class BrokerUnavailable(TaskError):
    """The Celery broker cannot be reached; nothing was queued."""


class WaitTimeout(TaskError):
    """The job did not finish before the wait's deadline."""


class IssNotConfigured(TaskError):
    """ISS is not configured: set JOBPROBE_ISS_API_URL and the ISS credentials."""
