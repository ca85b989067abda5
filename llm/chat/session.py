"""One question of a conversation, start to end: read the session, answer, check, keep.

``ask`` reads the session's context (an unknown or expired session is ``UnknownSession``),
fetches what can be named, reads the question, asks back when it must, otherwise answers with
the offline writer or the model's tool calls, checks every number of the answer against that
turn's tool results (``llm.verify``), and only then appends the whole turn to the session in
one write: a question that fails leaves the session as it was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobprobe.llm import verify
from jobprobe.llm.chat import agent, clarify, compact, offline, parser
from jobprobe.llm.chat.entities import Vocabulary
from jobprobe.llm.chat.errors import BadQuestion, UnknownSession
from jobprobe.llm.chat.models import ChatModel
from jobprobe.llm.chat.toolbox import Toolbox
from jobprobe.llm.chat.tools import ToolContext

if TYPE_CHECKING:
    from jobprobe.store.db import Store
    from jobprobe.worker.settings import Settings

#: The longest question taken (characters).
MAX_QUESTION_CHARS = 2000
#: Token budget of one tool result as kept in the conversation (the model saw up to
#: ``tool_result_tokens``; the stored copy is for the record and for follow-ups).
STORED_RESULT_TOKENS = 600


@dataclass(frozen=True)
class ChatConfig:
    """The chat's settings (``chat_*`` of Settings)."""

    max_tool_calls: int = 8
    tool_result_tokens: int = 3000
    session_hours: float = 24.0
    max_question_chars: int = MAX_QUESTION_CHARS


@dataclass(frozen=True)
class Answer:
    """The answer to one question: its text (unverified numbers marked), what kind of reply it
    is (``answer``, ``clarify``: a question back with ``options``, ``unparsed``), the check of
    its numbers, the tool calls made, and the session it belongs to."""

    session_id: str
    question: str
    answer: str
    kind: str
    verified: bool
    unverified_numbers: list[str]
    provider: str
    model: str
    options: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``--json`` and the web API)."""
        return asdict(self)


def check_question(question: str, max_chars: int = MAX_QUESTION_CHARS) -> str:
    """The question stripped; ``BadQuestion`` when empty or longer than ``max_chars``."""
    text = (question or "").strip()
    if not text:
        raise BadQuestion(
            'the question is empty; ask something, e.g. jobprobe ask "what is running now?"'
        )
    if len(text) > max_chars:
        raise BadQuestion(
            f"the question is {len(text):,} characters long; ask one of at most {max_chars:,}"
        )
    return text


def _previous(
    store: Store, session_id: str, max_age: timedelta, now: datetime
) -> tuple[dict[str, Any], list[Any]]:
    from jobprobe.store import conversations
    from jobprobe.store import errors as store_errors

    try:
        with store.session() as s:
            conv = conversations.load(s, session_id, max_age=max_age, now=now)
            return dict(conv.context or {}), list(conv.turns or [])
    except store_errors.ConversationNotFound as exc:
        raise UnknownSession(str(exc)) from exc


def ask(
    question: str,
    *,
    store: Store,
    model: ChatModel | None = None,
    config: ChatConfig | None = None,
    session_id: str | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Answer:
    """Answer ``question`` (in ``session_id``'s conversation, or a new one) from the store's
    figures: offline when ``model`` is None, else through the model's tool calls."""
    config = config or ChatConfig()
    text = check_question(question, config.max_question_chars)
    at = now or datetime.now(UTC)
    max_age = timedelta(hours=config.session_hours)
    context, turns = _previous(store, session_id, max_age, at) if session_id else ({}, [])
    box = Toolbox(ToolContext(store, settings, now), max_calls=config.max_tool_calls,
                  budget_tokens=config.tool_result_tokens)  # fmt: skip
    known = box.call("known_values", {}, internal=True)
    vocabulary = Vocabulary.from_dict(known if isinstance(known, dict) else {})
    intent = parser.parse(text, vocabulary, now=at, context=context)
    question_back = clarify.needed(intent, text, vocabulary)
    options: list[str] = []
    if question_back is not None and (model is None or intent.mentions.ambiguous
                                      or intent.mentions.unknown):  # fmt: skip
        reply, kind, options = question_back.text, "clarify", question_back.options
    elif model is None:
        reply = offline.answer(intent, box)
        kind = "unparsed" if intent.kind not in offline.WRITERS else "answer"
    else:
        system = agent.system_prompt(vocabulary.summary(), context, at.isoformat())
        reply = agent.run(model, text, box, system=system,
                          history=agent.history_messages(turns))  # fmt: skip
        kind = "answer"
    facts = box.facts(question=text, period=intent.period.to_dict() if intent.period else None)
    marked, check = verify.verify_and_mark(reply, facts)
    new_context = intent.context() if kind == "answer" and intent.kind != "unknown" else context
    turn = {
        "at": at.isoformat(), "question": text, "answer": marked, "kind": kind,
        "verified": check.verified, "unverified_numbers": check.unsupported,
        "entities": intent.context(),
        "tool_calls": [{"name": c.name, "arguments": c.arguments,
                        "result": compact.compact(c.result, STORED_RESULT_TOKENS)}
                       for c in box.calls],
    }  # fmt: skip
    sid = _keep(store, session_id, turn, new_context, max_age, at,
                "none" if model is None else model.name)  # fmt: skip
    return Answer(
        session_id=sid, question=text, answer=marked, kind=kind, verified=check.verified,
        unverified_numbers=check.unsupported, provider="none" if model is None else model.name,
        model="jobprobe-offline-1" if model is None else model.model, options=options,
        tool_calls=[{"name": c.name, "arguments": c.arguments} for c in box.calls],
    )  # fmt: skip


def _keep(
    store: Store, session_id: str | None, turn: dict[str, Any], context: dict[str, Any],
    max_age: timedelta, now: datetime, provider: str,
) -> str:  # fmt: skip
    """Append ``turn`` to the session (a new one when ``session_id`` is None), in one write."""
    from jobprobe.store import conversations
    from jobprobe.store import errors as store_errors

    try:
        with store.session() as s:
            if session_id:
                conv = conversations.load(s, session_id, max_age=max_age, now=now, for_update=True)
            else:  # a new conversation: the expired ones go (an indexed delete)
                conversations.purge_expired(s, max_age=max_age, now=now)
                conv = conversations.start(s, provider=provider, now=now)
            conversations.append_turn(s, conv, turn, context=context, now=now)
            return conv.id
    except store_errors.ConversationNotFound as exc:
        raise UnknownSession(str(exc)) from exc


def model_from_settings(settings: Settings, provider: str | None = None) -> ChatModel | None:
    """The chat model the settings name (``llm_provider``); None for the offline ``none``."""
    from jobprobe.llm.chat.models import BedrockChat, OpenAIChat
    from jobprobe.llm.providers.bedrock import BedrockProvider
    from jobprobe.llm.providers.openai import OpenAIProvider
    from jobprobe.llm.registry import provider_from_settings

    built = provider_from_settings(settings, provider)
    if isinstance(built, OpenAIProvider):
        return OpenAIChat(built)
    if isinstance(built, BedrockProvider):
        return BedrockChat(built)
    return None


def config_from_settings(settings: Settings) -> ChatConfig:
    """The chat's settings."""
    return ChatConfig(
        max_tool_calls=settings.chat_max_tool_calls,
        tool_result_tokens=settings.chat_tool_result_tokens,
        session_hours=settings.chat_session_hours,
    )
