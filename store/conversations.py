"""Conversations of ``jobprobe ask``: a session id, its turns and the entities in context.

A turn is appended whole, in the caller's transaction, only once its answer is complete, so a
question that failed half-way leaves the conversation as it was. A conversation untouched for
longer than ``max_age`` (the ``chat_session_hours`` setting) is unknown: loading it raises
``ConversationNotFound``, as for an id that never existed, and ``purge_expired`` deletes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobprobe.store import errors
from jobprobe.store import jobs as store_jobs
from jobprobe.store.models import Conversation

#: Turns kept per conversation (the oldest go first): a follow-up needs the last few only.
MAX_TURNS = 50
#: A session id is 32 hex digits, as a job id.
ID_LENGTH = 32


def start(session: Session, *, provider: str, now: datetime | None = None) -> Conversation:
    """A new, empty conversation (flushed)."""
    at = now or store_jobs.utcnow()
    conv = Conversation(
        id=uuid.uuid4().hex, created_at=at, updated_at=at, provider=provider, turns=[], context={}
    )
    session.add(conv)
    session.flush()
    return conv


def expired(conv: Conversation, *, max_age: timedelta, now: datetime | None = None) -> bool:
    """Whether ``conv`` was last used more than ``max_age`` ago."""
    return conv.updated_at < (now or store_jobs.utcnow()) - max_age


def load(
    session: Session,
    conv_id: str,
    *,
    max_age: timedelta,
    now: datetime | None = None,
    for_update: bool = False,
) -> Conversation:
    """The live conversation ``conv_id``; ``ConversationNotFound`` when unknown or expired."""
    if not conv_id or len(conv_id) > ID_LENGTH:
        raise errors.ConversationNotFound(f"no conversation {conv_id!r}: start a new one")
    stmt = sa.select(Conversation).where(Conversation.id == conv_id)
    if for_update:
        stmt = stmt.with_for_update()
    conv = session.scalars(stmt).one_or_none()
    if conv is None:
        raise errors.ConversationNotFound(
            f"no conversation {conv_id!r} (unknown or expired): leave out --session to start one"
        )
    if expired(conv, max_age=max_age, now=now):
        raise errors.ConversationNotFound(
            f"conversation {conv_id} expired (no turn for over "
            f"{max_age.total_seconds() / 3600:g} h): leave out --session to start a new one"
        )
    return conv


def append_turn(
    session: Session,
    conv: Conversation,
    turn: Mapping[str, Any],
    *,
    context: Mapping[str, Any],
    now: datetime | None = None,
) -> Conversation:
    """Add ``turn`` to ``conv`` and set the entities in context (one write, flushed)."""
    turns = [*list(conv.turns or []), dict(turn)][-MAX_TURNS:]
    conv.turns = turns  # a new list, so the JSON column is written
    conv.context = dict(context)
    conv.updated_at = now or store_jobs.utcnow()
    session.flush()
    return conv


def purge_expired(session: Session, *, max_age: timedelta, now: datetime | None = None) -> int:
    """Delete conversations unused for longer than ``max_age``; how many went."""
    cutoff = (now or store_jobs.utcnow()) - max_age
    result = session.execute(sa.delete(Conversation).where(Conversation.updated_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def to_dict(conv: Conversation) -> dict[str, Any]:
    """JSON-ready form of a conversation."""
    return {
        "session_id": conv.id,
        "created_at": conv.created_at.isoformat(),
        "updated_at": conv.updated_at.isoformat(),
        "provider": conv.provider,
        "turns": list(conv.turns or []),
        "context": dict(conv.context or {}),
    }
