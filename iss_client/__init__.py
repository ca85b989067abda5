"""Typed client for the Intel Simulation Service (ISS) REST API and file service.

Configuration comes in as keyword arguments only; nothing here reads the environment.
``iss_client.devserver`` is a local ISS stand-in for development and tests.
"""

from __future__ import annotations

from jobprobe.iss_client import errors
from jobprobe.iss_client.auth import ClientCredentials, TokenProvider
from jobprobe.iss_client.aws_secrets import load_credentials_from_aws
from jobprobe.iss_client.client import IssClient
from jobprobe.iss_client.errors import (
    IssApiError,
    IssAuthError,
    IssConnectionError,
    IssCredentialsError,
    IssError,
    IssFileTooLargeError,
    IssNotFoundError,
    IssPermanentError,
    IssRateLimitedError,
    IssServerError,
    IssTimeoutError,
    IssTransientError,
    is_transient,
)
from jobprobe.iss_client.models import (
    FILE_KINDS,
    KNOWN_JOB_TYPES,
    KNOWN_STATUSES,
    SETTLED_STATUSES,
    TERMINAL_STATUSES,
    FileEntry,
    FileList,
    Instance,
    Job,
    JobMetadata,
    JobPage,
    JobStatus,
    JobType,
    LogList,
    Platform,
)
from jobprobe.iss_client.transport import RetryPolicy, parse_retry_after
from jobprobe.iss_client.urls import FILTER_PARAMS, JobFilters

__all__ = [
    "FILE_KINDS",
    "FILTER_PARAMS",
    "KNOWN_JOB_TYPES",
    "KNOWN_STATUSES",
    "SETTLED_STATUSES",
    "TERMINAL_STATUSES",
    "ClientCredentials",
    "FileEntry",
    "FileList",
    "Instance",
    "IssApiError",
    "IssAuthError",
    "IssClient",
    "IssConnectionError",
    "IssCredentialsError",
    "IssError",
    "IssFileTooLargeError",
    "IssNotFoundError",
    "IssPermanentError",
    "IssRateLimitedError",
    "IssServerError",
    "IssTimeoutError",
    "IssTransientError",
    "Job",
    "JobFilters",
    "JobMetadata",
    "JobPage",
    "JobStatus",
    "JobType",
    "LogList",
    "Platform",
    "RetryPolicy",
    "TokenProvider",
    "errors",
    "is_transient",
    "load_credentials_from_aws",
    "parse_retry_after",
]
