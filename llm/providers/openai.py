"""Any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama) over httpx."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

import httpx

from jobprobe.iss_client.transport import RetryPolicy, parse_retry_after
from jobprobe.llm import errors

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class OpenAIProvider:
    """POSTs ``{base_url}/chat/completions`` with a bearer key; retries 429/5xx/timeouts.

    Retries are bounded (``max_retries``) with jittered exponential backoff that honours
    ``Retry-After`` up to ``max_backoff_s``. Exhausted retries and unreachable endpoints raise
    ``LlmUnavailable``; other error answers and malformed bodies raise ``LlmResponseError``.
    """

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 5.0,
        max_retries: int = 2,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        temperature: float = 0.2,
        max_tokens: int = 800,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self._retry = RetryPolicy(
            max_retries=max_retries, backoff_base=backoff_s, backoff_max=max_backoff_s,
            retry_after_cap=max_backoff_s,
        )  # fmt: skip
        self.temperature = temperature
        self.max_tokens = max_tokens
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=self.base_url + "/",
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            transport=transport,
        )

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> OpenAIProvider:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        header = None if response is None else response.headers.get("Retry-After")
        return self._retry.delay(attempt, parse_retry_after(header))

    def complete(self, system: str, prompt: str) -> str:
        """The assistant message for ``prompt`` under ``system``."""
        body = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": prompt},
            ],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        return self._parse(self.post("chat/completions", body))

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST ``body`` to ``path`` with the retry policy; the first answer that is not to be
        retried (the caller checks its status), or ``LlmUnavailable`` once retries run out.

        Shared by insight reports and the chat agent (``llm.chat``), which sends tools too.
        """
        last: errors.LlmError = errors.LlmUnavailable()
        for attempt in range(self.max_retries + 1):
            response: httpx.Response | None = None
            try:
                response = self._client.post(path, json=body)
            except httpx.TimeoutException as exc:
                last = errors.LlmUnavailable(
                    f"{self.base_url} did not answer within {self.timeout_s:g} s ({exc!r})"
                )
            except httpx.TransportError as exc:
                last = errors.LlmUnavailable(f"cannot reach {self.base_url}: {exc}")
            else:
                if response.status_code not in RETRY_STATUS:
                    return response
                last = errors.LlmUnavailable(
                    f"{self.base_url} answered {response.status_code} after {attempt + 1} "
                    f"attempt(s): {response.text[:200]}"
                )
            if attempt < self.max_retries:
                time.sleep(self._delay(attempt, response))
        raise last

    def _parse(self, response: httpx.Response) -> str:
        if response.status_code >= 400:
            raise errors.LlmResponseError(
                f"{self.base_url} rejected the request ({response.status_code}): "
                f"{response.text[:200]}",
                status=response.status_code,
                detail=response.text,
            )
        try:
            data: Any = response.json()
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise errors.LlmResponseError(
                f"{self.base_url} sent an unusable chat completion: {response.text[:200]}",
                status=response.status_code,
                detail=response.text,
            ) from exc
        if not isinstance(content, str) or not content.strip():
            raise errors.LlmResponseError(
                f"{self.base_url} sent an empty completion", status=response.status_code
            )
        return content
