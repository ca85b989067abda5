"""Secrets never printed: one masking function for every message that may hold one.

A URL's password (``redis://:PASSWORD@host``, ``postgresql://user:PASSWORD@host/db``), a
query parameter that names a secret (``?password=...``) and any known secret value (the ISS
client secret, the LLM API key, ...) become ``***``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

MASK = "***"
# scheme://user:password@host — the password runs to the last "@" before the path.
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^\s/]*)@")
_QUERY_SECRET = re.compile(
    r"(?P<key>\b[A-Za-z_]*(?:password|passwd|pwd|secret|token|api_key|apikey|access_key)=)"
    r"(?P<value>[^&\s]+)",
    re.IGNORECASE,
)
#: Variables (and their ``_FILE`` forms) whose values are secrets wherever they appear.
SECRET_VARIABLES = (
    "JOBPROBE_ISS_CLIENT_SECRET", "CLIENT_SECRET", "JOBPROBE_LLM_API_KEY",
    "JOBPROBE_ISS_AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY_ISS",
    "JOBPROBE_WEB_READ_TOKEN", "JOBPROBE_WEB_WRITE_TOKEN",
)  # fmt: skip
#: Variables holding URLs whose password is a secret.
URL_VARIABLES = ("JOBPROBE_BROKER_URL", "JOBPROBE_RESULT_BACKEND", "JOBPROBE_DATABASE_URL")
# Short values would mask ordinary words; a real secret is longer.
_MIN_SECRET = 6


def _userinfo(match: re.Match[str]) -> str:
    userinfo = match["userinfo"]
    if ":" not in userinfo:
        return match.group(0)
    user = userinfo.split(":", 1)[0]
    return f"{match['scheme']}{user}:{MASK}@"


def mask(text: str, values: Iterable[str] = ()) -> str:
    """``text`` with URL passwords, secret query parameters and each of ``values`` masked."""
    text = _URL_USERINFO.sub(_userinfo, text)
    text = _QUERY_SECRET.sub(lambda m: f"{m['key']}{MASK}", text)
    for value in sorted({v for v in values if v and len(v) >= _MIN_SECRET}, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def known_values(environ: Mapping[str, str]) -> list[str]:
    """The secret values ``environ`` holds, directly or in the files its ``..._FILE`` name."""
    upper = {k.upper(): v for k, v in environ.items()}
    found: list[str] = []
    for name in (*SECRET_VARIABLES, *URL_VARIABLES):
        value = upper.get(name)
        path = upper.get(f"{name}_FILE")
        if not value and path:
            try:
                value = Path(path).read_text().rstrip("\r\n")
            except (OSError, UnicodeDecodeError):
                value = None
        if not value:
            continue
        if name in URL_VARIABLES:
            found += [m["userinfo"].split(":", 1)[1] for m in _URL_USERINFO.finditer(value)
                      if ":" in m["userinfo"]]  # fmt: skip
        else:
            found.append(value)
    return found
