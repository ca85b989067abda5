"""Insight reports: a provider explains computed facts; the numbers it writes are checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from jobprobe.llm import facts as facts_mod
from jobprobe.llm import verify
from jobprobe.llm.base import Provider


@dataclass(frozen=True)
class Insight:
    """A narrative, who wrote it, and whether its numbers all come from the facts."""

    text: str
    provider: str
    model: str
    verified: bool
    unsupported_numbers: list[str] = field(default_factory=list)
    prompt_tokens_est: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what the store keeps)."""
        return asdict(self)

    def summary(self) -> str:
        """One line for listings: who wrote it and whether its numbers check out."""
        line = f"{self.provider}/{self.model}: verified {'yes' if self.verified else 'no'}"
        if self.unsupported_numbers:
            line += f" (unsupported: {', '.join(self.unsupported_numbers)})"
        return line


def write_insight(
    facts: Mapping[str, Any], provider: Provider, *, budget_tokens: int = facts_mod.DEFAULT_BUDGET
) -> Insight:
    """Ask ``provider`` to explain ``facts`` (compacted to ``budget_tokens``) and verify it.

    The narrative is checked against the facts the provider was shown; an unsupported number
    marks the insight ``verified=False`` and is listed. Provider errors
    (``errors.LlmUnavailable``, ``errors.LlmResponseError``) propagate to the caller, which
    decides whether to retry or to fall back to the ``none`` provider.
    """
    prompt = facts_mod.build_prompt(facts, budget_tokens=budget_tokens)
    text = provider.complete(prompt.system, prompt.text).strip()
    check = verify.verify(text, prompt.facts)
    return Insight(
        text, provider.name, provider.model, check.verified, check.unsupported, prompt.tokens_est
    )
