"""Running tools for one question: checked, bounded, compacted, and recorded.

A ``Toolbox`` runs the tools one question calls, whichever provider asks: it refuses an unknown
tool (``ToolCallError``), a call repeated with the same arguments and a call past
``max_calls`` (``ToolLoop``); arguments that do not fit the tool's schema and queries that
cannot answer them (``queries.errors.QueryError``) come back as ``{"error": ...}``. Each
result is compacted to ``budget_tokens`` and kept, as the model saw it, in ``calls``: the turn
that is stored, and the facts the answer's numbers are checked against.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from jobprobe.llm.chat import compact, tools
from jobprobe.llm.chat.errors import ToolCallError, ToolLoop


@dataclass(frozen=True)
class CallRecord:
    """One tool call of a turn: what was asked and the compact result (or the error)."""

    name: str
    arguments: dict[str, Any]
    result: Any
    internal: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (kept in the conversation)."""
        return asdict(self)


class Toolbox:
    """The tools of one question, with its call budget and result budget."""

    def __init__(
        self,
        ctx: tools.ToolContext,
        *,
        max_calls: int = 8,
        budget_tokens: int = 3000,
        available: dict[str, tools.Tool] | None = None,
    ) -> None:
        self.ctx = ctx
        self.max_calls = max_calls
        self.budget_tokens = budget_tokens
        self.tools = available if available is not None else tools.by_name()
        self.calls: list[CallRecord] = []

    def specs(self) -> list[dict[str, Any]]:
        """The JSON schemas of the tools, for a model."""
        return [t.spec() for t in self.tools.values()]

    def has(self, name: str) -> bool:
        """Whether tool ``name`` is available."""
        return name in self.tools

    def call(self, name: str, arguments: dict[str, Any], *, internal: bool = False) -> Any:
        """Run ``name`` with ``arguments``; the compact result (see the module's rules).

        ``internal`` calls (what the chat fetches before the model starts: the known names)
        are recorded but neither count against ``max_calls`` nor make a later call a repeat.
        """
        from jobprobe.queries import errors as query_errors

        tool = self.tools.get(name)
        if tool is None:
            raise ToolCallError(
                f"the model called an unknown tool {name!r} (tools: {', '.join(self.tools)}); "
                "try again, or use a model that follows tool schemas"
            )
        key = json.dumps([name, arguments], sort_keys=True, default=str)
        mine = [c for c in self.calls if not c.internal]
        if internal:
            pass
        elif any(json.dumps([c.name, c.arguments], sort_keys=True, default=str) == key
                 for c in mine):  # fmt: skip
            raise ToolLoop(
                f"the model called {name} twice with the same arguments instead of answering; "
                "ask again, or ask a narrower question"
            )
        if not internal and len(mine) >= self.max_calls:
            raise ToolLoop(
                f"the model made more than {self.max_calls} tool calls for one question without "
                "answering; ask a narrower question (or raise JOBPROBE_CHAT_MAX_TOOL_CALLS)"
            )
        problems = tools.check_arguments(tool, arguments)
        result: Any
        if problems:
            result = {"error": "; ".join(problems)}
        else:
            try:
                result = compact.compact(tool.run(self.ctx, dict(arguments)), self.budget_tokens)
            except query_errors.QueryError as exc:
                result = {"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
        self.calls.append(CallRecord(name, dict(arguments), result, internal))
        return result

    def facts(self, **extra: Any) -> dict[str, Any]:
        """What the answer may quote: every call's arguments and result, and ``extra``."""
        return {**extra, "calls": [c.to_dict() for c in self.calls]}
