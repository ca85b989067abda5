"""The synchronous ISS client: jobs, platforms, instances, schemas and the file service."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from jobprobe.iss_client import errors, responses, urls
from jobprobe.iss_client.auth import ClientCredentials, TokenProvider
from jobprobe.iss_client.models import (
    TERMINAL_STATUSES,
    FileList,
    Instance,
    InstanceList,
    Job,
    JobPage,
    LogList,
    Platform,
    PlatformList,
)
from jobprobe.iss_client.transport import RetryPolicy, parse_retry_after

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

MAX_PAGE_SIZE = 100
DEFAULT_MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024


class IssClient:
    """Typed client for the ISS REST API and file service; use it as a context manager.

    ``api_url`` is where ``/v1/...`` lives, ``files_url`` where ``/fs/files/...`` lives (a
    trailing ``/v1`` or ``/fs/files`` is accepted), ``token_url`` the OAuth2 token endpoint.
    GET requests are retried on 429/502/503/504 and timeouts; a 401 refreshes the token once.
    """

    def __init__(
        self,
        api_url: str,
        files_url: str,
        token_url: str,
        client_id: str,
        client_secret: str | SecretStr,
        *,
        timeout: float = 30.0,
        token_timeout: float = 10.0,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        retry_after_cap: float = 30.0,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        secret = client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        self._api = urls.base_url(api_url, "/v1") + "/v1"
        self._files = urls.base_url(files_url, "/fs/files") + "/fs/files"
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)
        self._timeout = httpx.Timeout(timeout)
        self._retry = RetryPolicy(
            max_retries=max_retries, backoff_base=backoff_base, retry_after_cap=retry_after_cap
        )
        self._sleep = sleep
        self.auth = TokenProvider(
            token_url,
            ClientCredentials(client_id=client_id, client_secret=secret),
            http=self._http,
            timeout=token_timeout,
        )

    @classmethod
    def from_aws_secret(
        cls,
        api_url: str,
        files_url: str,
        token_url: str,
        *,
        secret_name: str,
        aws_access_key_id: str,
        aws_secret_access_key: str | SecretStr,
        region_name: str,
        endpoint_url: str | None = None,
        **options: Any,
    ) -> IssClient:
        """A client whose credentials are read from AWS Secrets Manager (see ``aws_secrets``)."""
        from jobprobe.iss_client.aws_secrets import load_credentials_from_aws

        creds = load_credentials_from_aws(
            secret_name,
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            region_name=region_name,
            endpoint_url=endpoint_url,
        )
        return cls(api_url, files_url, token_url, creds.client_id, creds.client_secret, **options)

    def __repr__(self) -> str:
        return f"IssClient(api_url={self._api!r}, files_url={self._files!r}, auth={self.auth!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connection pool (only if this client created it)."""
        if self._owns_http:
            self._http.close()

    # -- jobs ---------------------------------------------------------------------------------

    def list_jobs(
        self,
        *,
        limit: int = MAX_PAGE_SIZE,
        continuation_token: str | None = None,
        **filters: Unpack[urls.JobFilters],
    ) -> JobPage:
        """One page of jobs matching ``filters``; follow ``continuation_token`` for the next."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, not {limit}")
        params: dict[str, str] = {"Limit": str(limit)}
        for name, value in filters.items():
            if name not in urls.FILTER_PARAMS:
                raise TypeError(f"unknown ISS job filter {name!r}")
            if value is not None:
                params[urls.FILTER_PARAMS[name]] = str(value)
        if continuation_token:
            params["ContinuationToken"] = continuation_token
        return self._get_model(f"{self._api}/jobs", JobPage, params=params)

    def iter_jobs(
        self, *, page_size: int = MAX_PAGE_SIZE, **filters: Unpack[urls.JobFilters]
    ) -> Iterator[Job]:
        """Every job matching ``filters``, fetching pages lazily by ``ContinuationToken``."""
        token: str | None = None
        seen: set[str] = set()
        while True:
            page = self.list_jobs(limit=page_size, continuation_token=token, **filters)
            yield from page.jobs
            token = page.continuation_token
            if not token:
                return
            if token in seen:
                raise errors.IssApiError("ISS repeated a ContinuationToken; paging stopped")
            seen.add(token)

    def get_job(self, job_id: str) -> Job:
        """One job with its detail fields (``Workload``, ``Execution``, ...)."""
        return self._get_model(f"{self._api}/jobs/job/{urls.segment(job_id, 'job id')}", Job)

    def wait_for_job(
        self,
        job_id: str,
        *,
        deadline_s: float,
        poll_interval: float = 5.0,
        until: Collection[str] = TERMINAL_STATUSES,
    ) -> Job:
        """Poll a job until its status is in ``until``; IssTimeoutError after ``deadline_s``.

        For interactive use; Celery tasks re-schedule themselves instead of waiting here.
        """
        if deadline_s <= 0 or poll_interval <= 0:
            raise ValueError("deadline_s and poll_interval must be positive")
        wanted = {s.lower() for s in until}
        deadline = time.monotonic() + deadline_s
        while True:
            job = self.get_job(job_id)
            if (job.status or "").lower() in wanted:
                return job
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise errors.IssTimeoutError(
                    f"ISS job {job_id} still {job.status!r} after {deadline_s:g} s"
                )
            self._sleep(min(poll_interval, remaining))

    def get_schema(self, job_type: str, platform: str) -> dict[str, Any]:
        """The parameter schema of a job kind (``iwps``, ``isim``, ``coho``) on a platform."""
        kind = urls.segment(job_type.lower(), "job type")
        url = f"{self._api}/jobs/{kind}/{urls.segment(platform, 'platform')}/schema"
        body = self._get_json(url)
        if not isinstance(body, dict):
            raise errors.IssApiError("ISS schema answer is not a JSON object", status_code=200)
        return body

    # -- platforms and instances --------------------------------------------------------------

    def list_platforms(self) -> list[Platform]:
        """Every platform ISS offers."""
        return self._get_model(f"{self._api}/platforms", PlatformList).platforms

    def get_platform(self, platform_id: str) -> Platform:
        """One platform by ``PlatformID``."""
        url = f"{self._api}/platforms/platform/{urls.segment(platform_id, 'platform id')}"
        return self._get_model(url, Platform)

    def list_instances(self) -> list[Instance]:
        """Every simulation instance visible to this client."""
        return self._get_model(f"{self._api}/instances", InstanceList).instances

    def get_instance(self, instance_id: str) -> Instance:
        """One instance by ``InstanceID``."""
        url = f"{self._api}/instances/instance/{urls.segment(instance_id, 'instance id')}"
        return self._get_model(url, Instance)

    # -- file service -------------------------------------------------------------------------

    def _artifacts_url(self, job_id: str, kind: str, path: str) -> str:
        job = urls.segment(job_id, "job id")
        url = f"{self._files}/{job}/{urls.segment(kind, 'kind')}/artifacts/out"
        rel = urls.file_path(path)
        return f"{url}/{rel}" if rel else url

    def list_files(self, job_id: str, kind: str, path: str = "") -> FileList:
        """The artifact listing of a job (``kind``: iwps, isim or coho), optionally a subfolder."""
        return self._get_model(self._artifacts_url(job_id, kind, path), FileList)

    def list_logs(self, job_id: str) -> LogList:
        """The job's log files."""
        return self._get_model(f"{self._files}/{urls.segment(job_id, 'job id')}/logs", LogList)

    def download_file(
        self,
        job_id: str,
        kind: str,
        path: str,
        dest: Path,
        *,
        max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
    ) -> int:
        """Stream one artifact to ``dest`` byte for byte; returns its size.

        Raises IssFileTooLargeError past ``max_bytes``; on any failure no partial file is left.
        """
        if not urls.file_path(path):
            raise ValueError("download_file needs a file path")
        return self._download(self._artifacts_url(job_id, kind, path), Path(dest), max_bytes)

    def download_log(
        self, job_id: str, name: str, dest: Path, *, max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES
    ) -> int:
        """Stream one log file (a name from ``list_logs``) to ``dest``; returns its size."""
        url = f"{self._files}/{urls.segment(job_id, 'job id')}/logs/{urls.file_path(name)}"
        return self._download(url, Path(dest), max_bytes)

    def _download(self, url: str, dest: Path, max_bytes: int) -> int:
        part = dest.with_name(dest.name + ".part")
        response = self._send("GET", url, stream=True)
        written = 0
        try:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise errors.IssFileTooLargeError(
                    f"{url.rsplit('/', 1)[-1]} is {declared} bytes, over the {max_bytes}-byte cap"
                )
            with part.open("wb") as out:
                for chunk in response.iter_bytes(chunk_size=64 * 1024):
                    written += len(chunk)
                    if written > max_bytes:
                        raise errors.IssFileTooLargeError(
                            f"{url.rsplit('/', 1)[-1]} exceeds the {max_bytes}-byte cap"
                        )
                    out.write(chunk)
            part.replace(dest)
        except httpx.TimeoutException as exc:
            raise errors.IssTimeoutError("ISS file download stalled") from exc
        except httpx.TransportError as exc:
            broke = f"ISS file download broke: {type(exc).__name__}"
            raise errors.IssConnectionError(broke) from exc
        finally:
            response.close()
            part.unlink(missing_ok=True)
        return written

    # -- the request loop ---------------------------------------------------------------------

    def _get_model(self, url: str, model: type[M], params: dict[str, str] | None = None) -> M:
        response = self._send("GET", url, params=params)
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise errors.IssApiError(
                f"ISS answered an unexpected {model.__name__} shape: "
                f"{exc.error_count()} validation errors",
                status_code=response.status_code,
                detail=str(exc.errors(include_url=False, include_input=False))[:500],
            ) from exc

    def _get_json(self, url: str) -> Any:
        response = self._send("GET", url)
        try:
            return response.json()
        except ValueError as exc:
            raise errors.IssApiError(
                "ISS answered with invalid JSON", status_code=response.status_code
            ) from exc

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send an idempotent request with auth, retries and one token refresh on 401."""
        attempt = 0
        refreshed = False
        while True:
            try:
                token = self.auth.token()
                request = self._http.build_request(
                    method,
                    url,
                    params=params,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=self._timeout,
                )
                response = self._http.send(request, stream=stream)
            except (httpx.TimeoutException, errors.IssTimeoutError) as exc:
                failure: errors.IssError = responses.as_timeout(exc, method, url, self._timeout)
            except (httpx.TransportError, errors.IssConnectionError) as exc:
                failure = responses.as_connection_error(exc, method, url)
            except errors.IssServerError as exc:  # the token endpoint failed
                failure = exc
            else:
                if response.status_code == 401 and not refreshed:
                    response.close()
                    self.auth.invalidate(token)
                    refreshed = True
                    continue
                if not self._retry.should_retry_status(response.status_code, attempt):
                    if response.is_error:
                        responses.raise_for_status(response, method)
                    return response
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                response.close()
                self._pause(attempt, retry_after, f"{response.status_code}", method, url)
                attempt += 1
                continue
            if attempt >= self._retry.max_retries:
                raise failure
            self._pause(attempt, None, type(failure).__name__, method, url)
            attempt += 1

    def _pause(
        self, attempt: int, retry_after: float | None, why: str, method: str, url: str
    ) -> None:
        delay = self._retry.delay(attempt, retry_after)
        log.info(
            "ISS %s %s: %s, retry %d in %.2f s",
            method,
            responses.url_path(url),
            why,
            attempt + 1,
            delay,
        )
        self._sleep(delay)
