"""Check that every number in a narrative comes from the facts it was written from.

Rules (so the model may round but not invent):

- Numbers are read as written: ``1,234``, ``-3.5``, ``12.5%``, ``3.2e5``. Digits glued to a
  word (``p99``, ``H100``, ``x86``) are names, not numbers.
- A narrative number ``n`` is supported when some fact number ``f`` equals it after rounding to
  ``n``'s precision (``|f - n| <= half a unit in n's last written digit``), comparing absolute
  values (a change of -12 % may be written "fell by 12 %"). A percentage (``%`` or
  ``percent``) is also supported by the fact ``n / 100`` (a fraction written as a percentage).
- Fact numbers are every numeric value in the facts and every number inside their strings;
  an ISO timestamp's parts count (``2026-11-25T08:00:13.52`` gives 2026, 11, 25, 8, 0 and 13;
  not 13.52), so an answer may name the day or the hour of a fact's time.
- Exempt: list markers at the start of a line (``1.``, ``2)``), and names in backticks (a job
  id such as `16517316` is a name even when all its characters are digits). No other small
  integers are exempt: "3 GPUs" must be a fact.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

NUMBER = re.compile(
    r"(?<![\w.])(?P<num>[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<dec>\d+))?(?:[eE](?P<exp>[-+]?\d+))?)"
    r"(?![\w])(?P<pct>\s*(?:%|percent|per cent))?"
)
#: An ISO timestamp: its parts are numbers, its fraction of a second is not (any decimal
#: written in an answer would otherwise find a match among the microseconds of some time).
ISO_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?")
CODE_SPAN = re.compile(r"`[^`\n]*`")
LIST_MARKER = re.compile(r"^\s*\d{1,2}[.)]\s", re.MULTILINE)


@dataclass(frozen=True)
class Number:
    """A number as written in text: its value, the half-unit of its last digit, percent or not."""

    text: str
    value: float
    tolerance: float
    percent: bool
    start: int


def extract_numbers(text: str) -> list[Number]:
    """Every number written in ``text`` (list markers excluded)."""
    markers = {
        m.start() + len(m.group(0)) - len(m.group(0).lstrip()) for m in LIST_MARKER.finditer(text)
    }
    names = [m.span() for m in CODE_SPAN.finditer(text)]
    out = []
    for match in NUMBER.finditer(text):
        if match.start() in markers or any(a < match.start() < b for a, b in names):
            continue
        raw = match.group("num")
        decimals = len(match.group("dec") or "")
        exponent = int(match.group("exp") or 0)
        value = float(raw.replace(",", ""))
        if not math.isfinite(value):
            continue
        out.append(
            Number(
                match.group(0).strip(),
                value,
                0.5 * 10.0 ** (exponent - decimals),
                bool(match.group("pct")),
                match.start(),
            )
        )
    return out


def fact_numbers(facts: Any) -> list[float]:
    """Every number in ``facts`` (values, and numbers written inside string values)."""
    return sorted({abs(v) for v in _walk(facts)})


def _walk(node: Any) -> Iterator[float]:
    if isinstance(node, bool) or node is None:
        return
    if isinstance(node, int | float):
        if math.isfinite(node):
            yield float(node)
    elif isinstance(node, str):
        plain = ISO_TIME.sub(lambda m: " ".join(g for g in m.groups() if g), node)
        yield from (n.value for n in extract_numbers(plain))
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _walk(value)


def supported(number: Number, facts: list[float]) -> bool:
    """Whether ``number`` is some fact after rounding to its precision."""
    target = abs(number.value)
    slack = number.tolerance + 1e-9 * max(1.0, target)
    for fact in facts:
        if abs(fact - target) <= slack:
            return True
        if number.percent and abs(fact * 100.0 - target) <= slack:
            return True
    return False


@dataclass(frozen=True)
class Verification:
    """Outcome of checking a narrative: ``verified`` when no number is unsupported."""

    verified: bool
    unsupported: list[str] = field(default_factory=list)
    checked: int = 0


def verify(text: str, facts: Mapping[str, Any]) -> Verification:
    """Check every number in ``text`` against ``facts`` (see the module rules)."""
    known = fact_numbers(facts)
    numbers = extract_numbers(text)
    bad = [n.text for n in numbers if not supported(n, known)]
    return Verification(not bad, bad, len(numbers))


#: What follows a number no fact supports, in a marked text.
UNVERIFIED = "[unverified]"


def verify_and_mark(
    text: str, facts: Mapping[str, Any], *, marker: str = UNVERIFIED
) -> tuple[str, Verification]:
    """``verify`` ``text``, and the text with ``marker`` after each unsupported number (so a
    reader sees which figure was not found in the facts, where it stands)."""
    known = fact_numbers(facts)
    numbers = extract_numbers(text)
    bad = [n for n in numbers if not supported(n, known)]
    marked = text
    for n in reversed(bad):
        end = n.start + len(n.text)
        marked = f"{marked[:end]} {marker}{marked[end:]}"
    return marked, Verification(not bad, [n.text for n in bad], len(numbers))
