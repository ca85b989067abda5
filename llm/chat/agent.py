"""The language-model agent: the model calls tools until it answers, within the call budget.

The model is told what can be named (the store's recent label values, queues, tools and
platforms), what the conversation was about so far, and to quote only numbers its tools
returned. Its tool calls run through the question's ``Toolbox`` (unknown tools, repeated calls
and too many calls end the question with one error).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from jobprobe.llm import errors
from jobprobe.llm.chat import compact
from jobprobe.llm.chat.models import ChatModel
from jobprobe.llm.chat.toolbox import Toolbox

SYSTEM = (
    "You answer questions about the jobs of a compute cluster (jobprobe) by calling tools that "
    "return the store's own figures. Rules: (1) Use only numbers that appear in tool results "
    "(you may round them, or write a fraction as a percentage); never compute or invent "
    "figures: every number in your answer is checked. (2) When the question leaves out or "
    "blurs which team, user, queue, tool or platform it means, do not guess: reply with one "
    "short question that lists the real options (from the known names below or the "
    "known_values tool). (3) Periods: since takes an ISO time or spans like 7d, 24h; "
    "compare_periods takes days. (4) Answer in a few plain sentences or a short list. "
    "Time now (UTC): {now}.\nKnown names: {known}\nEarlier in this conversation: {context}"
)


def system_prompt(known: dict[str, Any], context: dict[str, Any], now: str) -> str:
    """The instructions, with what can be named and the conversation's context."""
    return SYSTEM.format(
        now=now, known=json.dumps(known, separators=(",", ":")),
        context=json.dumps(context, separators=(",", ":"), default=str) if context else "nothing",
    )  # fmt: skip


def history_messages(turns: Sequence[dict[str, Any]], keep: int = 3) -> list[dict[str, Any]]:
    """The last ``keep`` turns as user/assistant messages (their tool results left out)."""
    out: list[dict[str, Any]] = []
    for turn in list(turns)[-keep:]:
        out.append({"role": "user", "content": str(turn.get("question", ""))})
        out.append({"role": "assistant", "content": str(turn.get("answer", ""))})
    return out


def run(
    model: ChatModel,
    question: str,
    box: Toolbox,
    *,
    system: str,
    history: Sequence[dict[str, Any]] = (),
) -> str:
    """The model's final answer to ``question`` after the tool calls it makes."""
    messages: list[dict[str, Any]] = [*history, {"role": "user", "content": question}]
    specs = box.specs()
    # Each step either calls at least one tool (bounded by the toolbox) or ends.
    for _ in range(box.max_calls + 2):
        turn = model.step(system, messages, specs)
        if not turn.tool_calls:
            if not (turn.text or "").strip():
                raise errors.LlmResponseError(f"{model.name} sent an empty answer")
            return str(turn.text).strip()
        messages.append({
            "role": "assistant", "content": turn.text or "",
            "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments}
                           for c in turn.tool_calls],
        })  # fmt: skip
        for call in turn.tool_calls:
            result = box.call(call.name, call.arguments)
            messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": compact.as_text(result)}
            )
    raise errors.LlmResponseError(f"{model.name} did not answer after {box.max_calls} tool calls")
