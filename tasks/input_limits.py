"""Limits on what a submitted job carries, checked before anything is stored.

Each parameter becomes an environment variable ``SIM_<NAME>`` and all of them together
``JOBPROBE_PARAMS``: the kernel refuses any single variable over 128 KiB (MAX_ARG_STRLEN) and
an environment over its ARG_MAX share, so a job stored with bigger ones could never start.
Numbers must be finite (JSON has no NaN: PostgreSQL refuses it and the job could not parse its
own parameters); nesting is bounded (and checked without recursion). Labels hold no control
characters (a newline or an escape sequence would forge rows or rewrite a terminal).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from jobprobe.tasks import errors

#: Largest parameter, its name and value as the job's environment holds them (bytes).
MAX_PARAM_BYTES = 32 * 1024
#: Largest set of parameters (``JOBPROBE_PARAMS``, JSON, bytes); the environment holds it twice.
MAX_PARAMS_BYTES = 64 * 1024
#: Deepest nesting of a parameter's value (lists and objects).
MAX_DEPTH = 32
_LABEL_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _env_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _check_value(key: str, value: Any) -> None:
    """Depth and finiteness, walked with an explicit stack (no RecursionError)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            if depth > MAX_DEPTH:
                raise errors.SubmitError(
                    f"param {key!r} is nested deeper than {MAX_DEPTH} levels; flatten it"
                )
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, float) and not math.isfinite(item):
            raise errors.SubmitError(f"param {key!r} holds {item}: only finite numbers are allowed")
        elif isinstance(item, str) and "\x00" in item and depth == 1:
            raise errors.SubmitError(f"param {key!r} holds a NUL character")


def check_params(params: Mapping[str, Any]) -> None:
    """Each parameter's size, depth and numbers, then all of them together; SubmitError if not."""
    for key, value in params.items():
        _check_value(key, value)
        size = len(f"SIM_{key}={_env_value(value)}".encode())
        if size > MAX_PARAM_BYTES:
            raise errors.SubmitError(
                f"param {key!r} is {size} bytes, over the {MAX_PARAM_BYTES}-byte limit of one "
                "parameter; ship data in the script or a file"
            )
    total = len(json.dumps(dict(params)).encode())
    if total > MAX_PARAMS_BYTES:
        raise errors.SubmitError(
            f"the params are {total} bytes together, over the {MAX_PARAMS_BYTES}-byte limit; "
            "ship data in the script or a file"
        )


def check_label(key: str, value: str) -> None:
    """A label's value holds no control character; SubmitError naming it if it does."""
    found = _LABEL_CONTROL.search(value)
    if found:
        raise errors.SubmitError(
            f"label {key!r} holds a control character (U+{ord(found.group(0)):04X}); "
            "labels are plain text"
        )
