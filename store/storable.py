"""What a job produced, made storable without losing what it said.

PostgreSQL takes no NUL character in text or JSON, no lone surrogate (a file name or log that
was not UTF-8, decoded with ``surrogateescape``) and no NaN or Infinity in JSON. These are
rewritten once, here, for the fresh outcome and the spool alike:

- NUL becomes U+2400 (``␀``);
- a byte that was not UTF-8 (a surrogate ``\\udcXX``) becomes the text ``\\xXX``, any other
  lone surrogate ``\\uXXXX``;
- a non-finite number becomes null, and the paths of those numbers are returned so that the
  record can say which keys they were.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from jobprobe.store import errors
from jobprobe.store.status import JobStatus

log = logging.getLogger(__name__)

NUL_MARK = "\u2400"
_SURROGATE = re.compile("[\ud800-\udfff]")
#: The key of a metrics object that lists the keys whose non-finite values became null.
NON_FINITE_KEY = "_non_finite"


def _escape_surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a raw byte kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def text(value: str) -> str:
    """``value`` with NUL and lone surrogates replaced by printable marks."""
    if "\x00" in value:
        value = value.replace("\x00", NUL_MARK)
    if _SURROGATE.search(value):
        value = _SURROGATE.sub(_escape_surrogate, value)
    return value


def decode(data: bytes) -> str:
    """Bytes a job wrote, as storable text (invalid UTF-8 as ``\\xXX``, NUL as ``␀``)."""
    return text(data.decode("utf-8", "backslashreplace"))


def clean(value: Any, path: str = "", non_finite: list[str] | None = None) -> Any:
    """A JSON-like ``value`` made storable; the paths of non-finite numbers (made null) are
    appended to ``non_finite`` (dotted keys, ``[i]`` for list items)."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        if non_finite is not None:
            non_finite.append(path or "(value)")
        return None
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = text(str(key))
            out[name] = clean(item, f"{path}.{name}" if path else name, non_finite)
        return out
    if isinstance(value, list | tuple):
        return [clean(item, f"{path}[{i}]", non_finite) for i, item in enumerate(value)]
    return text(str(value))  # anything else JSON cannot hold: its text


def clean_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """A job's metrics object made storable; non-finite numbers become null and are listed
    under ``NON_FINITE_KEY``."""
    non_finite: list[str] = []
    out = clean(metrics, "", non_finite)
    if non_finite:
        out[NON_FINITE_KEY] = sorted(set(non_finite) | set(out.get(NON_FINITE_KEY) or []))
    return dict(out)


def clean_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """An outcome payload (``{"outcome": ..., "samples": ...}`` or a bare outcome) made
    storable: the metrics keep a note of their non-finite keys, other non-finite figures
    become null (they were not measured)."""
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if key == "outcome" and isinstance(value, Mapping):
            out[key] = clean_payload(value)
        elif key == "metrics" and isinstance(value, Mapping):
            out[key] = clean_metrics(value)
        else:
            dropped: list[str] = []
            out[key] = clean(value, key, dropped)
            if dropped:
                log.warning("non-finite figures stored as null: %s", ", ".join(dropped[:10]))
    return out


#: Outcome fields kept when an outcome cannot be stored and the job is failed instead: plain
#: numbers, which cannot be what the database refused.
_KEPT = ("returncode", "duration_s", "cpu_user_s", "cpu_system_s", "cpu_total_s",
         "memory_peak_mb", "ended_at")  # fmt: skip


def _plain(value: Any) -> bool:
    """A value no column refuses: a 32-bit integer, a finite float, an ISO time."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**31) <= value < 2**31
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and len(value) < 40


def failed_payload(payload: Mapping[str, Any], reason: str) -> dict[str, Any]:
    """The payload that ends a job ``failed`` because its outcome could not be stored."""
    outcome = payload.get("outcome", payload)
    kept = {k: outcome[k] for k in _KEPT if isinstance(outcome, Mapping) and _plain(outcome.get(k))}
    reason = text(reason)[:2000]
    return {
        "outcome": {
            **clean(kept),
            "status": JobStatus.FAILED.value,
            "error": f"its outcome could not be stored: {reason}",
            "status_detail": "outcome not storable",
        },
        "attempt": payload.get("attempt", 0),
        "samples": [],
        "ran": bool(payload.get("ran")),
    }


def write_or_fail(
    write: Callable[[dict[str, Any]], None], job_id: str, payload: Mapping[str, Any]
) -> str | None:
    """Write ``payload`` made storable; if the store refuses it for good (a ``StoreError``
    that is not ``StoreUnavailable``, or a value the driver cannot convert), end the job
    ``failed`` with the reason instead.

    Returns None when the outcome was written as it was, the reason when the job was failed.
    ``StoreUnavailable`` propagates (the caller spools); so does a refusal of the failure too.
    """
    try:
        write(clean_payload(payload))
        return None
    except errors.StoreUnavailable:
        raise
    # ValueError, TypeError and ArithmeticError: a value the driver refuses before the
    # database sees it (SQLite's OverflowError for a too large integer) is refused for good too.
    except (errors.StoreError, ValueError, TypeError, ArithmeticError) as exc:
        log.warning("job %s: outcome refused by the store (%s); job failed instead", job_id, exc)
        reason = (
            f"{type(exc).__name__}: {exc}" if not isinstance(exc, errors.StoreError) else str(exc)
        )
        write(failed_payload(payload, reason))
        return reason
