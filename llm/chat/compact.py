"""Tool results cut to a token budget, the numbers an answer may quote kept.

A result the model is shown (and the answer is checked against) fits ``budget_tokens``
(``llm.facts.estimate_tokens``: characters / 4). What goes first: bulky fields no answer
quotes (logs, scripts, raw remote records, sample series), then long strings are shortened,
then the longest list is halved from its end, again and again (listings come ranked: the
head is what matters; ``<key>_omitted`` counts what went), and last the largest remaining
fields. Numbers that stay are never rounded or rewritten.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from jobprobe.llm.facts import estimate_tokens

#: Fields that no answer quotes and that can be large: dropped first, wherever they are.
BULKY = frozenset(
    {"script_content", "stdout_tail", "stderr_tail", "raw", "timeseries", "host", "containment",
     "logs", "samples", "series_points", "plot"}
)  # fmt: skip
LONG_STRING = 240


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def _drop_bulky(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _drop_bulky(v) for k, v in node.items() if k not in BULKY}
    if isinstance(node, list):
        return [_drop_bulky(v) for v in node]
    if isinstance(node, str) and len(node) > LONG_STRING:
        return node[:LONG_STRING] + "…"
    return node


def _lists(node: Any, parent: Any = None, key: Any = None) -> list[tuple[int, Any, Any, list[Any]]]:
    """Every list with more than one item: (size, parent, key in parent, the list)."""
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            found += _lists(v, node, k)
    elif isinstance(node, list):
        if len(node) > 1:
            found.append((len(_dump(node)), parent, key, node))
        for i, v in enumerate(node):
            found += _lists(v, node, i)
    return found


def _halve_longest(root: Any) -> bool:
    lists = _lists(root)
    if not lists:
        return False
    _, parent, key, items = max(lists, key=lambda item: item[0])
    keep = max(1, len(items) // 2)
    gone = len(items) - keep
    del items[keep:]
    if isinstance(parent, dict) and isinstance(key, str):
        omitted = f"{key}_omitted"
        parent[omitted] = int(parent.get(omitted, 0)) + gone
    return True


def _drop_largest(root: Any) -> bool:
    if not isinstance(root, dict):
        return False
    keys = [k for k in root if k != "_fields_omitted"]
    if len(keys) <= 1:
        return False
    key = max(keys, key=lambda k: len(_dump(root[k])))
    del root[key]
    root.setdefault("_fields_omitted", []).append(key)
    return True


def compact(result: Any, budget_tokens: int) -> Any:
    """A copy of ``result`` whose JSON fits ``budget_tokens`` (estimated), or as close as
    dropping leaves it (a single value is never cut)."""
    if estimate_tokens(_dump(result)) <= budget_tokens:
        return copy.deepcopy(result)
    out = _drop_bulky(copy.deepcopy(result))
    while estimate_tokens(_dump(out)) > budget_tokens and _halve_longest(out):
        pass
    while estimate_tokens(_dump(out)) > budget_tokens and _drop_largest(out):
        pass
    return out


def as_text(result: Any) -> str:
    """The JSON text a model is shown."""
    return _dump(result)
