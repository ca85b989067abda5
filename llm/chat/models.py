"""Language models that call tools: one step of a conversation in, text or tool calls out.

Messages are kept in one neutral form (``role`` user, assistant or tool; an assistant message
may carry ``tool_calls``; a tool message answers one ``tool_call_id``). ``OpenAIChat`` speaks
OpenAI-compatible chat completions with ``tools`` (OpenAI, vLLM, Ollama) through the insight
provider's retrying transport; ``BedrockChat`` speaks Converse with ``toolConfig``. A tool call
that cannot be read (arguments that are not a JSON object, no name) is ``ToolCallError``; an
answer with neither text nor tool calls is ``LlmResponseError``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from jobprobe.llm import errors
from jobprobe.llm.chat.errors import ToolCallError
from jobprobe.llm.providers.bedrock import BedrockProvider
from jobprobe.llm.providers.openai import OpenAIProvider


@dataclass(frozen=True)
class ToolCall:
    """A call the model asked for: its id (to answer it), the tool's name, its arguments."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ModelTurn:
    """What the model said in one step: final ``text``, or ``tool_calls`` to run first."""

    text: str | None
    tool_calls: list[ToolCall] = field(default_factory=list)


class ChatModel(Protocol):
    """A model that answers with text or tool calls (``name`` is the provider's)."""

    name: str
    model: str

    def step(
        self, system: str, messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]]
    ) -> ModelTurn:
        """The model's next turn given the conversation so far and the tools' JSON schemas
        (``{"name", "description", "parameters"}``)."""
        ...


def _arguments(raw: Any, name: str) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise ToolCallError(
                f"the model called {name!r} with arguments that are not JSON ({raw[:80]!r}); "
                "try again, or use a model that supports tool calling"
            ) from exc
    if not isinstance(raw, dict):
        raise ToolCallError(
            f"the model called {name!r} with arguments that are not a JSON object; try again, "
            "or use a model that supports tool calling"
        )
    return raw


class OpenAIChat:
    """OpenAI-compatible ``chat/completions`` with ``tools`` (function calling)."""

    name = "openai"

    def __init__(self, provider: OpenAIProvider) -> None:
        self.provider = provider
        self.model = provider.model

    def step(
        self, system: str, messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]]
    ) -> ModelTurn:
        """One chat completion; tool calls parsed from ``message.tool_calls``."""
        body = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, *map(self._message, messages)],
            "tools": [{"type": "function", "function": dict(t)} for t in tools],
            "tool_choice": "auto",
            "temperature": self.provider.temperature,
            "max_tokens": self.provider.max_tokens,
        }
        response = self.provider.post("chat/completions", body)
        where = self.provider.base_url
        if response.status_code >= 400:
            raise errors.LlmResponseError(
                f"{where} rejected the request ({response.status_code}): {response.text[:200]}",
                status=response.status_code, detail=response.text,
            )  # fmt: skip
        try:
            message = response.json()["choices"][0]["message"]
            raw_calls = message.get("tool_calls") or []
            text = message.get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise errors.LlmResponseError(
                f"{where} sent an unusable chat completion: {response.text[:200]}",
                status=response.status_code,
            ) from exc
        calls = []
        for i, raw in enumerate(raw_calls):
            fn = raw.get("function") if isinstance(raw, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                raise ToolCallError(
                    f"{where} sent a tool call without a function name; try again, or use a "
                    "model that supports tool calling"
                )
            args = _arguments(fn.get("arguments"), fn["name"])
            calls.append(ToolCall(str(raw.get("id") or f"call_{i}"), fn["name"], args))
        if not calls and not (isinstance(text, str) and text.strip()):
            raise errors.LlmResponseError(f"{where} sent an empty answer (no text, no tool call)")
        return ModelTurn(text if isinstance(text, str) else None, calls)

    @staticmethod
    def _message(message: dict[str, Any]) -> dict[str, Any]:
        if message["role"] == "tool":
            return {"role": "tool", "tool_call_id": message["tool_call_id"],
                    "content": message["content"]}  # fmt: skip
        out: dict[str, Any] = {"role": message["role"], "content": message.get("content") or ""}
        if message.get("tool_calls"):
            out["tool_calls"] = [
                {"id": c["id"], "type": "function",
                 "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
                for c in message["tool_calls"]
            ]  # fmt: skip
        return out


class BedrockChat:
    """AWS Bedrock Converse with ``toolConfig`` (tool use)."""

    name = "bedrock"

    def __init__(self, provider: BedrockProvider) -> None:
        self.provider = provider
        self.model = provider.model

    def step(
        self, system: str, messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]]
    ) -> ModelTurn:
        """One Converse call; tool calls from the ``toolUse`` blocks of the answer."""
        response = self.provider.converse(
            messages=self._messages(messages),
            system=[{"text": system}],
            toolConfig={"tools": [
                {"toolSpec": {"name": t["name"], "description": t["description"],
                              "inputSchema": {"json": t["parameters"]}}}
                for t in tools
            ]},
        )  # fmt: skip
        try:
            blocks = response["output"]["message"]["content"]
            texts = [b["text"] for b in blocks if "text" in b]
            uses = [b["toolUse"] for b in blocks if "toolUse" in b]
        except (KeyError, TypeError) as exc:
            raise errors.LlmResponseError(
                f"Bedrock sent an unusable answer: {response!r:.200}"
            ) from exc
        calls = []
        for use in uses:
            if not isinstance(use, dict) or not isinstance(use.get("name"), str):
                raise ToolCallError("Bedrock sent a tool use without a tool name; try again")
            args = _arguments(use.get("input"), use["name"])
            calls.append(ToolCall(str(use.get("toolUseId") or use["name"]), use["name"], args))
        text = "".join(texts)
        if not calls and not text.strip():
            raise errors.LlmResponseError("Bedrock sent an empty answer (no text, no tool use)")
        return ModelTurn(text or None, calls)

    @staticmethod
    def _messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Neutral messages in Converse's shape: tool results go back as one user message."""
        out: list[dict[str, Any]] = []
        for m in messages:
            if m["role"] == "tool":
                block = {"toolResult": {"toolUseId": m["tool_call_id"],
                                        "content": [{"text": m["content"]}]}}  # fmt: skip
                if out and out[-1]["role"] == "user" and "toolResult" in out[-1]["content"][0]:
                    out[-1]["content"].append(block)
                else:
                    out.append({"role": "user", "content": [block]})
                continue
            content: list[dict[str, Any]] = []
            if m.get("content"):
                content.append({"text": m["content"]})
            for c in m.get("tool_calls") or []:
                content.append(
                    {"toolUse": {"toolUseId": c["id"], "name": c["name"], "input": c["arguments"]}}
                )
            out.append({"role": m["role"], "content": content or [{"text": "."}]})
        return out
