"""Asking back: when a question leaves out or blurs what it is about, a short question that
lists the real options the store has seen, never a guess."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from jobprobe.llm.chat.entities import Vocabulary
from jobprobe.llm.chat.parser import Intent

#: "my team", "the queue", "this platform": a thing meant but not named.
UNNAMED = re.compile(
    r"\b(?:my|our|the|this|that|a|one)\s+(team|queue|tool|user|platform|project)\b"
)
KIND_NAMES = {"label:team": "team", "queue": "queue", "tool": "tool", "label:user": "user",
              "label:platform": "platform", "label:project": "project"}  # fmt: skip
ISS_JOB_TYPES = ("isim", "iwps", "coho")


@dataclass(frozen=True)
class Clarification:
    """A question back and the options it offers (``by`` says what kind they are)."""

    text: str
    by: str
    options: list[str] = field(default_factory=list)


def _kind_name(by: str) -> str:
    return KIND_NAMES.get(by, by.partition(":")[2] or by)


def _listing(options: list[str]) -> str:
    return ", ".join(options) if options else "none seen recently"


def _by_for(word: str, vocabulary: Vocabulary) -> str:
    if word in ("queue", "tool"):
        return word
    if word == "user" and "user" not in vocabulary.labels and "requested_by" in vocabulary.labels:
        return "label:requested_by"
    return f"label:{word}"


def needed(intent: Intent, question: str, vocabulary: Vocabulary) -> Clarification | None:
    """The question to ask back before ``intent`` can be answered, or None."""
    found = intent.mentions
    if found.ambiguous:
        group = found.ambiguous[0]
        names = [e.title for e in group]
        return Clarification(
            f"'{group[0].value}' could mean {' or '.join(names)}. Which one did you mean?",
            group[0].group_by(), names,
        )  # fmt: skip
    for unknown in found.unknown:
        by = _by_for(unknown.key or "", vocabulary)
        options = vocabulary.options(by)
        if options or (by.startswith("label:") and unknown.key in vocabulary.labels):
            kind = _kind_name(by)
            return Clarification(
                f"I don't know a {kind} '{unknown.value}'. The {kind}s seen recently are: "
                f"{_listing(options)}. Which one did you mean?", by, options,
            )  # fmt: skip
    if intent.kind == "iss_config":
        return _iss(intent, vocabulary)
    if intent.kind == "compare_groups" and len(intent.entities) < 2:
        by = intent.entities[0].group_by() if intent.entities else _default_by(intent, vocabulary)
        kind = _kind_name(by)
        have = f" {intent.entities[0].value} with" if intent.entities else ""
        return Clarification(
            f"Compare{have} which {kind}{'' if have else 's'}? The {kind}s seen recently are: "
            f"{_listing(vocabulary.options(by))}.", by, vocabulary.options(by),
        )  # fmt: skip
    unnamed = UNNAMED.search(question.lower())
    if unnamed and not intent.entities and intent.kind not in ("job_status", "job_files"):
        by = _by_for(unnamed.group(1), vocabulary)
        kind = _kind_name(by)
        return Clarification(
            f"Which {kind}? The {kind}s seen recently are: {_listing(vocabulary.options(by))}.",
            by, vocabulary.options(by),
        )  # fmt: skip
    return None


def _default_by(intent: Intent, vocabulary: Vocabulary) -> str:
    if intent.by and intent.by != "job":
        return intent.by
    return "label:team" if "team" in vocabulary.labels else "queue"


def _iss(intent: Intent, vocabulary: Vocabulary) -> Clarification | None:
    platforms = vocabulary.options("label:platform")
    if intent.iss_type is None:
        return Clarification(
            "Which ISS job type: " + ", ".join(ISS_JOB_TYPES) + "? (and on which platform: "
            f"{_listing(platforms)})", "iss_type", list(ISS_JOB_TYPES),
        )  # fmt: skip
    if not any(e.kind == "platform" for e in intent.entities):
        return Clarification(
            f"On which platform? The ISS platforms seen recently are: {_listing(platforms)}.",
            "label:platform", platforms,
        )  # fmt: skip
    return None
