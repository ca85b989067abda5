"""Questions in plain language over jobprobe's own figures (``jobprobe ask``, ``POST /chat``).

``ask(question, store=..., model=None|ChatModel, session_id=...)`` answers from the read layer's
figures (``queries``) through tools (``tools``): offline by a deterministic reader and writer
(``parser``, ``offline``) or by a language model's tool calls (``agent``, ``models``: OpenAI-
compatible or Bedrock Converse). It asks back with the store's real names when a question
leaves out or blurs what it is about (``clarify``), checks every number of the answer against
that turn's tool results (``llm.verify``) and keeps the conversation in the store
(``store.conversations``).
"""

from __future__ import annotations

from jobprobe.llm.chat import errors
from jobprobe.llm.chat.session import (
    Answer,
    ChatConfig,
    ask,
    config_from_settings,
    model_from_settings,
)

__all__ = ["Answer", "ChatConfig", "ask", "config_from_settings", "errors", "model_from_settings"]
