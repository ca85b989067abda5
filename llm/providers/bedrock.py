"""AWS Bedrock through boto3's ``bedrock-runtime`` Converse API."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from jobprobe.llm import errors

TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelNotReadyException",
        "ModelTimeoutException",
    }
)


class BedrockProvider:
    """Calls ``converse(modelId=..., messages=..., system=...)``.

    Credentials, region and endpoint come as arguments (``endpoint_url`` points it at a
    stand-in or a VPC endpoint). Credentials left ``None`` fall back to boto3's own chain.
    Timeouts and retries are botocore's ``Config(connect_timeout, read_timeout, retries)``;
    ``max_attempts`` counts every attempt, the first included.
    """

    name = "bedrock"

    def __init__(
        self,
        *,
        model_id: str,
        region: str = "us-east-1",
        endpoint_url: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
        max_attempts: int = 3,
        temperature: float = 0.2,
        max_tokens: int = 800,
    ) -> None:
        self.model = model_id
        self.temperature = temperature
        self.max_tokens = max_tokens
        session = boto3.session.Session(
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
            region_name=region,
        )
        config = Config(
            connect_timeout=connect_timeout_s,
            read_timeout=read_timeout_s,
            retries={"total_max_attempts": max_attempts, "mode": "standard"},
        )
        self._client: Any = session.client(
            "bedrock-runtime", endpoint_url=endpoint_url, config=config
        )

    def complete(self, system: str, prompt: str) -> str:
        """The assistant text Converse returns for ``prompt`` under ``system``."""
        response = self.converse(
            messages=[{"role": "user", "content": [{"text": prompt}]}],
            system=[{"text": system}],
        )
        try:
            blocks = response["output"]["message"]["content"]
            text = "".join(b["text"] for b in blocks if "text" in b)
        except (KeyError, TypeError) as exc:
            raise errors.LlmResponseError(
                f"Bedrock sent an unusable answer: {response!r:.200}"
            ) from exc
        if not text.strip():
            raise errors.LlmResponseError("Bedrock sent an empty answer")
        return text

    def converse(self, **request: Any) -> dict[str, Any]:
        """One Converse call (``messages``, ``system``, ``toolConfig``...) for this model with
        its inference settings; botocore's errors become ``LlmUnavailable`` (transient) or
        ``LlmResponseError``. Shared by insight reports and the chat agent (``llm.chat``)."""
        try:
            response: dict[str, Any] = self._client.converse(
                modelId=self.model,
                inferenceConfig={"maxTokens": self.max_tokens, "temperature": self.temperature},
                **request,
            )
        except (
            ReadTimeoutError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ConnectionClosedError,
        ) as exc:
            raise errors.LlmUnavailable(f"Bedrock did not answer: {exc}") from exc
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code, message = error.get("Code", ""), error.get("Message", str(exc))
            if code in TRANSIENT_CODES or (isinstance(status, int) and status >= 500):
                raise errors.LlmUnavailable(f"Bedrock is unavailable ({code}): {message}") from exc
            raise errors.LlmResponseError(
                f"Bedrock rejected the request ({code}): {message}", status=status, detail=message
            ) from exc
        except BotoCoreError as exc:
            raise errors.LlmUnavailable(f"Bedrock call failed: {exc}") from exc
        return response
