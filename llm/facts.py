"""Prompts built only from computed facts, compacted to a token budget.

Tokens are estimated as characters / 4. When the facts are over budget the least important are
dropped first (``IMPORTANCE``, higher number = dropped earlier): lists lose items from their end,
then whole entries go. Numbers are never rounded or rewritten: what the model sees is what the
verifier checks against.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FACTS_BEGIN = "<facts>"
FACTS_END = "</facts>"
DEFAULT_BUDGET = 1500

# Importance of top-level fact keys: lower is kept longer. Unlisted keys rank at 5.
IMPORTANCE: dict[str, int] = {
    "subject": 0,
    "task_id": 1,
    "tool": 1,
    "status": 1,
    "regressed": 0,
    "regressions": 1,
    "verdict": 1,
    "throughput_knee": 1,
    "latency_knee": 1,
    "usl": 2,
    "slo": 2,
    "saturation": 2,
    "figures": 2,
    "rows": 3,
    "metrics": 3,
    "returncode": 3,
    "baseline_runs": 3,
    "candidate_runs": 3,
    "queue": 4,
    "worker": 4,
    "points": 6,
    "missing": 7,
    "usl_curve": 9,  # the fit evaluated for drawing: its coefficients say the same
}

SYSTEM = (
    "You are a performance engineer explaining measurements of a compute job to its owner. "
    "Use only the facts given between <facts> and </facts>. Quote numbers exactly as they "
    "appear in the facts (you may round them to fewer decimals or write a fraction as a "
    "percentage); never compute or invent new numbers. Explain what limited the run, what the "
    "evidence is, and what to do next, in under 250 words of plain prose."
)


def estimate_tokens(text: str) -> int:
    """Rough token count: characters / 4, rounded up."""
    return math.ceil(len(text) / 4)


def _dump(facts: Mapping[str, Any]) -> str:
    return json.dumps(facts, separators=(",", ":"), sort_keys=False, default=str)


def _drop_one(facts: dict[str, Any]) -> bool:
    """Remove the least important piece; False when only ``subject`` is left."""
    candidates = [k for k in facts if k != "subject"]
    if not candidates:
        return False
    key = max(candidates, key=lambda k: (IMPORTANCE.get(k, 5), list(facts).index(k)))
    value = facts[key]
    if isinstance(value, list) and len(value) > 1:
        value.pop()
    elif isinstance(value, dict) and len(value) > 1 and IMPORTANCE.get(key, 5) < 5:
        value.pop(next(reversed(value)))
    else:
        del facts[key]
    return True


def compact(facts: Mapping[str, Any], budget_tokens: int = DEFAULT_BUDGET) -> dict[str, Any]:
    """A copy of ``facts`` whose JSON fits ``budget_tokens`` (estimated)."""
    out = copy.deepcopy(dict(facts))
    while estimate_tokens(_dump(out)) > budget_tokens and _drop_one(out):
        pass
    return out


@dataclass(frozen=True)
class Prompt:
    """A system instruction, the user prompt, the facts it carries, and its estimated size."""

    system: str
    text: str
    facts: dict[str, Any]
    tokens_est: int


def build_prompt(facts: Mapping[str, Any], *, budget_tokens: int = DEFAULT_BUDGET) -> Prompt:
    """The prompt for ``facts``: an instruction line and the compacted facts as JSON.

    The budget covers the whole prompt (system and user text).
    """
    head = f"Explain this {facts.get('subject', 'job')} report.\n{FACTS_BEGIN}\n"
    tail = f"\n{FACTS_END}\n"
    overhead = estimate_tokens(SYSTEM + head + tail)
    kept = compact(facts, max(1, budget_tokens - overhead))
    text = head + _dump(kept) + tail
    return Prompt(SYSTEM, text, kept, estimate_tokens(SYSTEM + text))


def facts_from_prompt(prompt: str) -> dict[str, Any]:
    """The facts a ``build_prompt`` prompt carries (for providers that render them locally)."""
    start, end = prompt.find(FACTS_BEGIN), prompt.rfind(FACTS_END)
    if start < 0 or end < start:
        raise ValueError("the prompt carries no <facts> block")
    data = json.loads(prompt[start + len(FACTS_BEGIN) : end])
    if not isinstance(data, dict):
        raise ValueError("the <facts> block is not a JSON object")
    return data
