"""What a question names, resolved against what the store has seen: label values (teams,
users, projects), queues, tools, ISS platforms, job and sweep ids.

``Vocabulary`` is the store's recent names (from the ``known_values`` tool); ``resolve`` finds
which of them a question mentions. A name is matched as whole words, ignoring case and the
punctuation inside it ("ML team" finds ``ml-team``). A value that is also an everyday word of
the questions (``gpu``, ``cpu``) counts only beside its kind ("the gpu queue", "tool python").
A word given as a kind's name ("team nlp") that the store does not know is kept as ``unknown``
so the answer can ask back with the real options instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

#: Values that are also common words of questions: matched only next to their kind's name.
GENERIC = frozenset(
    {"gpu", "gpus", "cpu", "cpus", "all", "default", "none", "jobs", "job", "memory", "time",
     "the", "a", "an", "local", "iss", "run", "running", "success", "failed", "analysis",
     "in", "on", "of", "to", "is", "it", "me", "my", "now", "last", "week", "day", "today"}
)  # fmt: skip
#: Job ids (hex, 6 to 32 digits with at least one digit and one letter, or all digits of 8+)
#: and ISS ids (JR-100003).
JOB_REF = re.compile(
    r"\b(?:[A-Z]{2,4}-\d{3,}|(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,32})\b", re.I
)
NAMED_REF = re.compile(r"\b(?:job|sweep|run)\s+(?:id\s+)?([0-9a-f]{6,32})\b", re.I)
_WORD = re.compile(r"[a-z0-9]+")


def norm(text: str) -> str:
    """Lower-case words separated by single spaces (punctuation dropped)."""
    return " ".join(_WORD.findall(text.lower()))


@dataclass(frozen=True)
class Entity:
    """A thing a question names: ``kind`` is label, queue, tool, platform, job or unknown;
    ``key`` the label key (or the kind word an unknown name came with)."""

    kind: str
    value: str
    key: str | None = None

    @property
    def title(self) -> str:
        """How the answer names it: ``team ml-team``, ``queue gpu``, ``tool python``."""
        return f"{self.key or self.kind} {self.value}"

    def filters(self) -> dict[str, Any]:
        """The job filters that select it (arguments of the listing tools)."""
        if self.kind == "label" and self.key:
            return {"labels": {self.key: self.value}}
        if self.kind == "platform":
            return {"labels": {self.key or "platform": self.value}}
        if self.kind in ("queue", "tool"):
            return {self.kind: self.value}
        return {}

    def group_by(self) -> str:
        """The ``by`` of the statistics tools that has this entity as one group."""
        if self.kind in ("label", "platform"):
            return f"label:{self.key or 'platform'}"
        return self.kind

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entity:
        """The entity ``to_dict`` wrote."""
        return cls(str(data["kind"]), str(data["value"]), data.get("key"))


@dataclass
class Vocabulary:
    """Names the store has seen recently: label keys and their values, queues, tools,
    ISS platforms."""

    labels: dict[str, list[str]] = field(default_factory=dict)
    queues: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocabulary:
        """From the ``known_values`` tool's result."""
        return cls(
            labels={str(k): [str(v) for v in vs] for k, vs in (data.get("labels") or {}).items()},
            queues=[str(q) for q in data.get("queues") or []],
            tools=[str(t) for t in data.get("tools") or []],
            platforms=[str(p) for p in data.get("platforms") or []],
        )

    def candidates(self) -> Iterable[Entity]:
        """Every name as the entity it would be."""
        for key, values in self.labels.items():
            kind = "platform" if key == "platform" else "label"
            for value in values:
                yield Entity(kind, value, key)
        for queue in self.queues:
            yield Entity("queue", queue)
        for tool in self.tools:
            yield Entity("tool", tool)
        for platform in self.platforms:
            if platform not in self.labels.get("platform", []):
                yield Entity("platform", platform, "platform")

    def kind_words(self) -> dict[str, str]:
        """Words that name a kind (``team``, ``teams``, ``queue``...) to the ``by`` they mean."""
        words = {"queue": "queue", "tool": "tool", "workload": "tool", "worker": "worker",
                 "host": "worker", "node": "worker", "platform": "label:platform"}  # fmt: skip
        for key in self.labels:
            words[norm(key)] = f"label:{key}"
        if "requested_by" in self.labels and "user" not in self.labels:
            words["user"] = "label:requested_by"
        return {**words, **{w + "s": by for w, by in words.items()}}

    def options(self, by: str, limit: int = 12) -> list[str]:
        """The real values of a grouping (``label:team``, ``queue``, ``tool``), for asking back."""
        if by.startswith("label:"):
            found = self.labels.get(by.partition(":")[2], [])
        elif by == "queue":
            found = self.queues
        elif by == "tool":
            found = self.tools
        else:
            found = []
        if by == "label:platform":
            found = sorted({*found, *self.platforms})
        return list(found)[:limit]

    def summary(self, limit: int = 12) -> dict[str, Any]:
        """A compact listing of what can be named (for a model's instructions)."""
        return {
            "labels": {k: v[:limit] for k, v in self.labels.items()},
            "queues": self.queues[:limit],
            "tools": self.tools[:limit],
            "platforms": self.platforms[:limit],
        }


def _kind_word(entity: Entity) -> set[str]:
    if entity.kind in ("label", "platform"):
        return {norm(entity.key or "platform"), norm(entity.key or "platform") + "s"}
    return {
        entity.kind,
        entity.kind + "s",
        *(("workload", "workloads") if entity.kind == "tool" else ()),
    }


def _beside_kind(words: list[str], start: int, end: int, entity: Entity, values: set[str]) -> bool:
    """Whether the name at ``words[start:end]`` stands beside its kind's word: right before or
    after it, or in a list that ends with it ("the gpu and cpu queues")."""
    kinds = _kind_word(entity)
    if start > 0 and words[start - 1] in kinds:
        return True
    for word in words[end : end + 4]:
        if word in kinds:
            return True
        if word not in ("and", "or") and word not in values:
            return False
    return False


def _spots(needle: str, hay: str) -> list[int]:
    """Word offsets where ``needle`` (normalised words) occurs in ``hay`` (normalised)."""
    n, h = needle.split(), hay.split()
    return [i for i in range(len(h) - len(n) + 1) if h[i : i + len(n)] == n] if n else []


@dataclass
class Mentions:
    """What a question names: known entities (in order), names of no known value (``unknown``,
    with the kind word they came with), and kinds asked about as a whole (``by``)."""

    entities: list[Entity] = field(default_factory=list)
    ambiguous: list[list[Entity]] = field(default_factory=list)
    unknown: list[Entity] = field(default_factory=list)
    by: list[str] = field(default_factory=list)
    job_refs: list[str] = field(default_factory=list)


_STOP_AFTER_KIND = GENERIC | {"and", "or", "vs", "versus", "with", "than", "for", "by", "per",
                              "which", "what", "this", "that", "each", "every", "over", "its",
                              "their", "lower", "higher", "is", "was", "are", "s", "usage",
                              "utilisation", "utilization", "util", "hours", "waste", "wasted",
                              "trend", "performance", "stats", "cost", "members", "doing", "use",
                              "uses", "used", "name", "names", "up", "down", "from", "at", "do",
                              "does", "did", "has", "have", "had", "most", "least", "top"}  # fmt: skip


#: Words before a kind word that make it a grouping ("per queue"), not a name's kind.
_GROUPING = frozenset({"per", "by", "each", "every", "which", "what", "all", "across", "any"})
#: Words before "<kind> <name>" or "<name> <kind>" that introduce a name ("for team nlp").
_INTRO = frozenset(
    {
        "the",
        "for",
        "of",
        "on",
        "in",
        "from",
        "compare",
        "is",
        "are",
        "to",
        "with",
        "and",
        "vs",
        "versus",
        "about",
        "did",
        "does",
        "has",
        "was",
        "team",
        "queue",
    }
)


def _unknown_name(words: list[str], i: int, taken: set[int], kinds: dict[str, str]) -> str | None:
    """The name next to kind word ``words[i]`` that no known value covered, or None."""
    if i > 0 and words[i - 1] in _GROUPING:
        return None

    def usable(j: int) -> bool:
        return (0 <= j < len(words) and j not in taken and words[j] not in _STOP_AFTER_KIND
                and words[j] not in kinds and not words[j].isdigit())  # fmt: skip

    if usable(i + 1) and (i == 0 or words[i - 1] in _INTRO):
        return words[i + 1]
    if usable(i - 1) and (i - 1 == 0 or words[i - 2] in _INTRO):
        return words[i - 1]
    return None


def resolve(question: str, vocabulary: Vocabulary) -> Mentions:
    """The entities ``question`` names (see the module's rules)."""
    found = Mentions()
    known = {norm(e.value) for e in vocabulary.candidates()}
    # An id-like word that is a known name (a team "cv-2024") is the name, not a job.
    refs_seen = [m.group(0) for m in JOB_REF.finditer(question)]
    # After the word "job" (or "sweep"), any 6 to 32 hex digits are an id ("job 123456").
    refs_seen += [m.group(1) for m in NAMED_REF.finditer(question) if m.group(1) not in refs_seen]
    found.job_refs = [r for r in refs_seen if norm(r) not in known]
    refs = {norm(r) for r in found.job_refs}
    text = norm(question)
    words = text.split()
    matches: list[tuple[int, int, Entity]] = []
    values = {norm(e.value) for e in vocabulary.candidates()}
    for entity in vocabulary.candidates():
        value = norm(entity.value)
        if not value or value in refs:
            continue
        for spot in _spots(value, text):
            end = spot + len(value.split())
            if value in GENERIC and not _beside_kind(words, spot, end, entity, values):
                continue
            matches.append((spot, end, entity))
    # Longest match wins where names overlap ("ml-team-2" over "ml-team").
    matches.sort(key=lambda m: (m[0], -(m[1] - m[0])))
    taken: set[int] = set()
    by_span: dict[tuple[int, int], list[Entity]] = {}
    for start, end, entity in matches:
        if taken & set(range(start, end)) and (start, end) not in by_span:
            continue
        taken |= set(range(start, end))
        by_span.setdefault((start, end), []).append(entity)
    for span in sorted(by_span):
        group = by_span[span]
        kinds = {(e.kind, e.key) for e in group}
        if len(kinds) > 1:
            found.ambiguous.append(group)
        elif group[0] not in found.entities:
            found.entities.append(group[0])
    kind_words = vocabulary.kind_words()
    for i, word in enumerate(words):
        by = kind_words.get(word)
        if by is None or i in taken or {i - 1, i + 1} & taken:
            continue
        if by not in found.by:
            found.by.append(by)
        name = _unknown_name(words, i, taken, kind_words)
        if name is not None and not word.endswith("s"):
            found.unknown.append(Entity("unknown", name, by.partition(":")[2] or by))
    return found
