"""The offline default: a deterministic written report from the facts in the prompt."""

from __future__ import annotations

from jobprobe.llm import errors, narrative
from jobprobe.llm import facts as facts_mod


class NoneProvider:
    """Writes the report itself, without a language model; same facts in, same text out."""

    name = "none"

    def __init__(self, *, model: str = "jobprobe-narrative-1") -> None:
        self.model = model

    def complete(self, system: str, prompt: str) -> str:
        """The narrative for the facts carried by ``prompt`` (``system`` is not needed)."""
        try:
            facts = facts_mod.facts_from_prompt(prompt)
        except ValueError as exc:
            raise errors.LlmResponseError(f"none provider: {exc}") from exc
        return narrative.write(facts)
