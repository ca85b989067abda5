"""Text bound for a terminal: control characters shown, never obeyed.

A label, a job's error or a script name may hold a newline (a fake row in a table) or an
escape sequence (the screen cleared, the title changed). ``escape`` turns each control
character into its visible escape (``\\n``, ``\\x1b``, ``\\u202e``); everything else is kept.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the bidirectional overrides and isolates (text shown reversed).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape(text: str) -> str:
    """``text`` with every control character written as its escape."""
    return _CONTROL.sub(_visible, text)


def escape_lines(text: str) -> str:
    """Each line of ``text`` escaped, its line breaks kept (multi-line output such as a table)."""
    return "\n".join(escape(line) for line in text.split("\n"))
