"""The openai and bedrock providers over real HTTP against local stand-ins on loopback.

The stand-ins are stdlib HTTP servers answering the wire formats (OpenAI chat completions,
Bedrock Converse); boto3 and httpx run unmodified against them.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pytest

from jobprobe import llm
from jobprobe.analysis import report
from jobprobe.llm import errors
from tests.unit.analysis.recorded import load_profile

MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"


@dataclass
class StandIn:
    """A loopback server's behaviour switch and what it saw."""

    mode: str = "ok"
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _answer_from(prompt: str) -> str:
    """A canned narrative quoting the facts in ``prompt`` (as a well-behaved model would)."""
    start, end = prompt.index("<facts>") + len("<facts>"), prompt.rindex("</facts>")
    facts = json.loads(prompt[start:end])
    verdict = facts.get("verdict", {})
    return (
        f"The job {facts.get('task_id')} was {verdict.get('kind')}-bound "
        f"(confidence {verdict.get('confidence')}). Follow the advice in the report."
    )


class _Handler(BaseHTTPRequestHandler):
    standin: StandIn

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests): nothing left to answer

    def _read(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length", "0"))
        data: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
        self.standin.requests.append(
            {"path": unquote(self.path), "body": data, "auth": self.headers.get("Authorization")}
        )
        return data


class _OpenAIHandler(_Handler):
    def do_POST(self) -> None:
        body = self._read()
        mode = self.standin.mode
        if self.path != "/v1/chat/completions":
            self._send(404, b'{"error": {"message": "not found"}}')
        elif mode == "500":
            self._send(500, b'{"error": {"message": "internal error"}}')
        elif mode == "429-then-ok" and len(self.standin.requests) == 1:
            self._send(429, b'{"error": {"message": "slow down"}}', {"Retry-After": "0"})
        elif mode == "400":
            self._send(400, b'{"error": {"message": "model not found"}}')
        elif mode == "garbage":
            self._send(200, b"<html>proxy error</html>")
        elif mode == "slow":
            self.standin.release.wait(10)
            self._send(200, b"{}")
        else:
            text = _answer_from(body["messages"][-1]["content"])
            answer = {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": text},
                    }
                ],
            }
            self._send(200, json.dumps(answer).encode())


class _BedrockHandler(_Handler):
    def do_POST(self) -> None:
        body = self._read()
        mode = self.standin.mode
        if not (self.path.startswith("/model/") and self.path.endswith("/converse")):
            self._send(404, b'{"message": "not found"}', {"x-amzn-ErrorType": "NotFound"})
        elif mode == "error":
            self._send(
                400,
                b'{"message": "The provided model identifier is invalid."}',
                {"x-amzn-ErrorType": "ValidationException"},
            )
        elif mode == "throttle":
            self._send(
                429,
                b'{"message": "Too many requests"}',
                {"x-amzn-ErrorType": "ThrottlingException"},
            )
        elif mode == "slow":
            self.standin.release.wait(10)
            self._send(200, b"{}")
        else:
            text = _answer_from(body["messages"][0]["content"][0]["text"])
            answer = {
                "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 100, "outputTokens": 20, "totalTokens": 120},
                "metrics": {"latencyMs": 1},
            }
            self._send(200, json.dumps(answer).encode())


def _serve(handler: type[_Handler]) -> Iterator[StandIn]:
    standin = StandIn()
    bound = type("Bound", (handler,), {"standin": standin})
    server = ThreadingHTTPServer(("127.0.0.1", 0), bound)
    server.daemon_threads = True
    standin.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        standin.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def openai_server() -> Iterator[StandIn]:
    """An OpenAI-compatible stand-in serving /v1/chat/completions."""
    yield from _serve(_OpenAIHandler)


@pytest.fixture
def bedrock_server() -> Iterator[StandIn]:
    """A Bedrock Converse stand-in serving /model/{modelId}/converse."""
    yield from _serve(_BedrockHandler)


@pytest.fixture
def job_facts() -> dict[str, Any]:
    return report.job_report(load_profile("cpu_bound"))


def _openai(server: StandIn, **kwargs: Any) -> Any:
    options: dict[str, Any] = {
        "base_url": server.url + "/v1",
        "model": "qwen2.5-7b",
        "api_key": "sk-test",
        "timeout_s": 2.0,
        "max_retries": 2,
        "backoff_s": 0.01,
    }
    options.update(kwargs)
    return llm.make_provider("openai", **options)


def test_openai_answer_is_verified(openai_server: StandIn, job_facts: dict[str, Any]) -> None:
    with _openai(openai_server) as provider:
        insight = llm.write_insight(job_facts, provider)
    assert insight.verified and insight.provider == "openai" and insight.model == "qwen2.5-7b"
    assert "cpu-bound (confidence 0.95)" in insight.text
    seen = openai_server.requests[0]
    assert seen["auth"] == "Bearer sk-test" and seen["body"]["model"] == "qwen2.5-7b"
    assert seen["body"]["messages"][0]["role"] == "system"


def test_openai_retries_429_then_succeeds(
    openai_server: StandIn, job_facts: dict[str, Any]
) -> None:
    openai_server.mode = "429-then-ok"
    with _openai(openai_server) as provider:
        insight = llm.write_insight(job_facts, provider)
    assert insight.verified
    assert len(openai_server.requests) == 2


def test_openai_persistent_500_is_unavailable_after_bounded_retries(
    openai_server: StandIn, job_facts: dict[str, Any]
) -> None:
    openai_server.mode = "500"
    with (
        _openai(openai_server, max_retries=2) as provider,
        pytest.raises(errors.LlmUnavailable, match="answered 500 after 3 attempt"),
    ):
        llm.write_insight(job_facts, provider)
    assert len(openai_server.requests) == 3


def test_openai_timeout_is_unavailable(openai_server: StandIn, job_facts: dict[str, Any]) -> None:
    openai_server.mode = "slow"
    with (
        _openai(openai_server, timeout_s=0.2, max_retries=1) as provider,
        pytest.raises(errors.LlmUnavailable, match=r"did not answer within 0\.2 s"),
    ):
        llm.write_insight(job_facts, provider)
    assert len(openai_server.requests) == 2


@pytest.mark.parametrize("mode", ["400", "garbage"])
def test_openai_error_answers_are_response_errors(
    openai_server: StandIn, mode: str, job_facts: dict[str, Any]
) -> None:
    openai_server.mode = mode
    with _openai(openai_server) as provider, pytest.raises(errors.LlmResponseError) as caught:
        llm.write_insight(job_facts, provider)
    assert len(openai_server.requests) == 1
    if mode == "400":
        assert caught.value.status == 400 and "model not found" in str(caught.value)


def test_openai_unreachable_endpoint_is_unavailable(job_facts: dict[str, Any]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = llm.make_provider(
        "openai",
        base_url=f"http://127.0.0.1:{port}/v1",
        model="m",
        max_retries=1,
        backoff_s=0.01,
        timeout_s=1.0,
    )
    with provider, pytest.raises(errors.LlmUnavailable, match="cannot reach"):
        llm.write_insight(job_facts, provider)


def _bedrock(server: StandIn, **kwargs: Any) -> Any:
    options: dict[str, Any] = {
        "model_id": MODEL_ID,
        "region": "us-east-1",
        "endpoint_url": server.url,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "read_timeout_s": 2.0,
        "max_attempts": 1,
    }
    options.update(kwargs)
    return llm.make_provider("bedrock", **options)


def test_bedrock_converse_answer_is_verified(
    bedrock_server: StandIn, job_facts: dict[str, Any]
) -> None:
    insight = llm.write_insight(job_facts, _bedrock(bedrock_server))
    assert insight.verified and insight.provider == "bedrock" and insight.model == MODEL_ID
    seen = bedrock_server.requests[0]
    assert seen["path"] == f"/model/{MODEL_ID}/converse"
    assert seen["body"]["system"][0]["text"].startswith("You are a performance engineer")
    assert seen["auth"] is not None and seen["auth"].startswith("AWS4-HMAC-SHA256")


def test_bedrock_validation_error_is_a_response_error(
    bedrock_server: StandIn, job_facts: dict[str, Any]
) -> None:
    bedrock_server.mode = "error"
    with pytest.raises(errors.LlmResponseError, match="ValidationException") as caught:
        llm.write_insight(job_facts, _bedrock(bedrock_server))
    assert caught.value.status == 400


def test_bedrock_throttling_is_unavailable(
    bedrock_server: StandIn, job_facts: dict[str, Any]
) -> None:
    bedrock_server.mode = "throttle"
    with pytest.raises(errors.LlmUnavailable, match="ThrottlingException"):
        llm.write_insight(job_facts, _bedrock(bedrock_server, max_attempts=2))
    assert len(bedrock_server.requests) == 2


def test_bedrock_timeout_is_unavailable(bedrock_server: StandIn, job_facts: dict[str, Any]) -> None:
    bedrock_server.mode = "slow"
    with pytest.raises(errors.LlmUnavailable, match="did not answer"):
        llm.write_insight(job_facts, _bedrock(bedrock_server, read_timeout_s=0.3))
    assert len(bedrock_server.requests) == 1
