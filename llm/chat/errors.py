"""Errors of ``jobprobe ask``: each is one line saying what was wrong and what to do.

``BadQuestion`` and ``UnknownSession`` are the asker's input (exit 2 on the command line, 422
and 404 on the web); ``ToolCallError`` and ``ToolLoop`` are the model misbehaving; a provider
that is down or slow stays an ``llm.errors.LlmUnavailable``.
"""

from __future__ import annotations

from jobprobe.llm.errors import LlmError, LlmResponseError


class ChatError(LlmError):
    """The question could not be answered."""


class BadQuestion(ChatError):
    """The question is empty or too long; ask one question of at most 2,000 characters."""


class UnknownSession(ChatError):
    """No conversation has that session id, or it expired; leave out --session to start one."""


class ToolCallError(ChatError, LlmResponseError):
    """The model made a tool call that cannot be run (an unknown tool or arguments that are not
    a JSON object); try again, or use a model that supports tool calling."""


class ToolLoop(ChatError, LlmResponseError):
    """The model kept calling tools without answering (a repeated call or too many calls)."""
