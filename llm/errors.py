"""Errors of the insight providers: one root, transient vs permanent."""

from __future__ import annotations


class LlmError(Exception):
    """The language-model provider failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class LlmUnavailable(LlmError):
    """The provider could not be reached or did not answer in time (transient: retry later)."""


class LlmResponseError(LlmError):
    """The provider answered with an error or an unusable response (permanent: fix the request
    or the configuration)."""

    def __init__(
        self, message: str | None = None, *, status: int | None = None, detail: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class UnknownProvider(LlmError):
    """No provider is registered under that name (choose none, openai or bedrock)."""


class LlmNotConfigured(LlmError):
    """The chosen provider lacks a setting it needs (fix JOBPROBE_LLM_*)."""
