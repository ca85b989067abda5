"""How ids are written and looked up: a job's or sweep's id, or a unique prefix of it."""

from __future__ import annotations

#: The fewest characters of an id that a prefix is looked up by.
MIN_ID_PREFIX = 6
