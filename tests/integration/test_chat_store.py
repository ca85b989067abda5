"""The conversation store of ``jobprobe ask`` on SQLite and the real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobprobe.store import conversations, errors
from jobprobe.store import jobs as store_jobs
from jobprobe.store.db import Store

HOURS = timedelta(hours=24)


def test_a_conversation_keeps_its_turns_and_context(store: Store) -> None:
    with store.session() as session:
        conv_id = conversations.start(session, provider="none").id
    turn = {"question": "how many GPUs now?", "answer": "3 GPUs", "tool_calls": []}
    with store.session() as session:
        conv = conversations.load(session, conv_id, max_age=HOURS, for_update=True)
        conversations.append_turn(session, conv, turn, context={"days": 7, "group": "ml-team"})
    with store.session() as session:
        back = conversations.to_dict(conversations.load(session, conv_id, max_age=HOURS))
    assert back["turns"] == [turn]
    assert back["context"] == {"days": 7, "group": "ml-team"}
    assert back["created_at"].endswith("+00:00")
    assert back["updated_at"] >= back["created_at"]


def test_a_failed_turn_leaves_the_conversation_as_it_was(store: Store) -> None:
    with store.session() as session:
        conv_id = conversations.start(session, provider="none").id

    class Boom(Exception):
        pass

    with pytest.raises(Boom), store.session() as session:
        conv = conversations.load(session, conv_id, max_age=HOURS)
        conversations.append_turn(session, conv, {"question": "q"}, context={"x": 1})
        raise Boom
    with store.session() as session:
        back = conversations.load(session, conv_id, max_age=HOURS)
        assert back.turns == [] and back.context == {}


def test_unknown_and_expired_sessions_are_not_found_and_expired_ones_are_purged(
    store: Store,
) -> None:
    long_ago = store_jobs.utcnow() - timedelta(hours=30)
    with store.session() as session:
        old_id = conversations.start(session, provider="none", now=long_ago).id
        new_id = conversations.start(session, provider="none").id
    with store.session() as session:
        with pytest.raises(errors.ConversationNotFound, match="expired"):
            conversations.load(session, old_id, max_age=HOURS)
        with pytest.raises(errors.ConversationNotFound, match="unknown or expired"):
            conversations.load(session, "0" * 32, max_age=HOURS)
        with pytest.raises(errors.ConversationNotFound):
            conversations.load(session, "x" * 500, max_age=HOURS)
        assert conversations.purge_expired(session, max_age=HOURS) == 1
    with store.session() as session:
        assert conversations.load(session, new_id, max_age=HOURS).id == new_id
        with pytest.raises(errors.ConversationNotFound):
            conversations.load(session, old_id, max_age=timedelta(days=365))


def test_only_the_last_turns_are_kept(store: Store) -> None:
    with store.session() as session:
        conv = conversations.start(session, provider="none")
        for i in range(conversations.MAX_TURNS + 3):
            conversations.append_turn(session, conv, {"question": f"q{i}"}, context={})
    with store.session() as session:
        turns = conversations.load(session, conv.id, max_age=HOURS).turns
    assert len(turns) == conversations.MAX_TURNS
    assert turns[-1] == {"question": f"q{conversations.MAX_TURNS + 2}"}
