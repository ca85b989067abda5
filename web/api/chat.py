"""The chat: a question in plain language answered from the store's figures (``llm.chat``),
as ``jobprobe ask --json`` prints it. An empty or too long question is 422, an unknown or
expired session 404, a language model that is down or misbehaves 502."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from jobprobe.web import errors
from jobprobe.web.deps import SettingsDep, StoreDep

router = APIRouter(tags=["chat"])


class ChatRequest(BaseModel):
    """A question, and the conversation it continues (none: a new one)."""

    question: str = Field(description="The question, in plain language.")
    session_id: str | None = Field(None, description="The conversation to go on with.")


@router.post("/chat")
def chat(body: ChatRequest, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    """The answer (unverified numbers marked and listed), its kind (answer, clarify with
    ``options``, unparsed), the tool calls made and the session id."""
    from jobprobe.llm import chat as llm_chat

    model = llm_chat.model_from_settings(settings)
    try:
        answer = llm_chat.ask(
            body.question, store=store, model=model, settings=settings,
            config=llm_chat.config_from_settings(settings), session_id=body.session_id,
        )  # fmt: skip
    except llm_chat.errors.BadQuestion as exc:
        raise errors.BadInput(str(exc)) from exc
    except llm_chat.errors.UnknownSession as exc:
        raise errors.NotFound(str(exc)) from exc
    return answer.to_dict()
