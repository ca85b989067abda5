"""The provider protocol every insight backend implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Provider(Protocol):
    """Turns a system instruction and a prompt into text.

    ``name`` is the registry name (``none``, ``openai``, ``bedrock``) and ``model`` the model
    identifier the text came from. ``complete`` raises ``errors.LlmUnavailable`` when the
    provider is unreachable or times out and ``errors.LlmResponseError`` when it answers with an
    error.
    """

    name: str
    model: str

    def complete(self, system: str, prompt: str) -> str:
        """The model's answer to ``prompt`` under the ``system`` instruction."""
        ...
