"""Language-model stand-ins on 127.0.0.1 that call tools as a script says.

``openai_server()`` speaks OpenAI chat completions (``POST /v1/chat/completions``) and
``bedrock_server()`` the Bedrock Converse REST API (``POST /model/{modelId}/converse``); real
httpx and boto3 talk to them. Each request is answered by the next step of ``StandIn.script``:
a step is a function of what the model would see (the tool results so far, parsed from the
request, and the request body) that returns ``Call(name, arguments)`` items, a final answer
``str``, or a ``Raw(status, body)`` answer (garbage, errors). A stand-in never computes an
answer of its own beyond what its script says.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote


@dataclass(frozen=True)
class Call:
    """A tool call the scripted model makes (``raw_arguments`` sends them as given)."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw_arguments: str | None = None


@dataclass(frozen=True)
class Raw:
    """An answer sent as is (an error status, a body that is not a completion)."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


Step = Callable[[list[Any], dict[str, Any]], "list[Call] | str | Raw"]


@dataclass
class StandIn:
    """A stand-in's script, what it was sent, and where it listens."""

    script: list[Step] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0
    delay_s: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def next_step(self) -> Step:
        index = len(self.requests) - 1
        return self.script[min(index, len(self.script) - 1)]


def calls(*items: Call) -> Step:
    """A step that makes these tool calls whatever it was sent."""
    return lambda results, body: list(items)


def say(text: str) -> Step:
    """A step that answers ``text`` whatever it was sent."""
    return lambda results, body: text


class _Handler(BaseHTTPRequestHandler):
    standin: StandIn

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

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
            pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
        self.standin.requests.append({"path": unquote(self.path), "body": body,
                                      "auth": self.headers.get("Authorization")})  # fmt: skip
        if self.standin.delay_s:
            self.standin.release.wait(self.standin.delay_s)
        if not self._path_ok():
            self._send(404, b'{"message": "not found"}')
            return
        outcome = self.standin.next_step()(self._results(body), body)
        if isinstance(outcome, Raw):
            self._send(outcome.status, outcome.body, outcome.headers)
            return
        self._send(200, json.dumps(self._answer(outcome, body)).encode())

    def _path_ok(self) -> bool:
        raise NotImplementedError

    def _results(self, body: dict[str, Any]) -> list[Any]:
        raise NotImplementedError

    def _answer(self, outcome: list[Call] | str, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


class _OpenAI(_Handler):
    def _path_ok(self) -> bool:
        return self.path == "/v1/chat/completions"

    def _results(self, body: dict[str, Any]) -> list[Any]:
        return [_parsed(m["content"]) for m in body.get("messages", []) if m.get("role") == "tool"]

    def _answer(self, outcome: list[Call] | str, body: dict[str, Any]) -> dict[str, Any]:
        n = len(self.standin.requests)
        if isinstance(outcome, str):
            message: dict[str, Any] = {"role": "assistant", "content": outcome}
        else:
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": f"call_{n}_{i}", "type": "function",
                 "function": {"name": c.name, "arguments": c.raw_arguments
                              if c.raw_arguments is not None else json.dumps(c.arguments)}}
                for i, c in enumerate(outcome)]}  # fmt: skip
        return {"id": f"chatcmpl-{n}", "object": "chat.completion", "model": body.get("model"),
                "choices": [{"index": 0, "message": message,
                             "finish_reason": "stop" if isinstance(outcome, str) else "tool_calls"}]}  # fmt: skip


class _Bedrock(_Handler):
    def _path_ok(self) -> bool:
        return self.path.startswith("/model/") and self.path.endswith("/converse")

    def _results(self, body: dict[str, Any]) -> list[Any]:
        out = []
        for m in body.get("messages", []):
            for block in m.get("content", []):
                if "toolResult" in block:
                    out.append(_parsed(block["toolResult"]["content"][0]["text"]))
        return out

    def _answer(self, outcome: list[Call] | str, body: dict[str, Any]) -> dict[str, Any]:
        n = len(self.standin.requests)
        if isinstance(outcome, str):
            content: list[dict[str, Any]] = [{"text": outcome}]
        else:
            content = [{"toolUse": {"toolUseId": f"tooluse_{n}_{i}", "name": c.name,
                                    "input": c.arguments}} for i, c in enumerate(outcome)]  # fmt: skip
        return {"output": {"message": {"role": "assistant", "content": content}},
                "stopReason": "end_turn" if isinstance(outcome, str) else "tool_use",
                "usage": {"inputTokens": 10, "outputTokens": 10, "totalTokens": 20},
                "metrics": {"latencyMs": 1}}  # fmt: skip


@contextmanager
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


def openai_server() -> Any:
    """An OpenAI-compatible stand-in (a context manager yielding its ``StandIn``)."""
    return _serve(_OpenAI)


def bedrock_server() -> Any:
    """A Bedrock Converse stand-in (a context manager yielding its ``StandIn``)."""
    return _serve(_Bedrock)
