"""Periods written in words: "today", "yesterday", "this week", "last week", "past 3 days",
"the last 12 hours", "this month", "last month", "past two weeks", "since 2026-11-20".

A period is a window ending now (or, for "yesterday", "last week" and "last month", ending
where the one after it starts) with its length in days, which is what ``compare-periods``
takes. Months are calendar months for "this month" and "last month", 30 days for "past N
months". Times are UTC (``store.timestamps``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14,
    "thirty": 30, "couple of": 2, "few": 3,
}  # fmt: skip
UNIT_DAYS = {"hour": 1 / 24, "day": 1.0, "week": 7.0, "fortnight": 14.0, "month": 30.0}
_COUNT = r"(?P<n>\d{1,4}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
_UNIT = r"(?P<unit>hour|day|week|fortnight|month)s?"
_SPAN = re.compile(
    rf"\b(?:past|last|previous|recent|over|in|within|during|for)\s+(?:the\s+)?(?:last\s+|past\s+)?"
    rf"{_COUNT}\s+{_UNIT}\b"
)
_BARE_SPAN = re.compile(rf"\b{_COUNT}\s+{_UNIT}\b")
_ONE_UNIT = re.compile(
    r"\b(?:the\s+)?(?P<which>past|last|previous)\s+(?P<unit>hour|day|fortnight|24 hours)\b"
)
_NAMED = re.compile(
    r"\b(?P<name>today|tonight|this morning|yesterday|this week|the week|past week|"
    r"last week|previous week|this month|past month|last month|previous month|this year)\b"
)


@dataclass(frozen=True)
class Period:
    """A window of time: where it starts and ends, its length in days, and how it reads."""

    phrase: str
    since: datetime
    until: datetime
    days: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (kept in a conversation's context)."""
        out = asdict(self)
        out["since"], out["until"] = self.since.isoformat(), self.until.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Period:
        """The period ``to_dict`` wrote."""
        return cls(
            str(data["phrase"]),
            datetime.fromisoformat(data["since"]),
            datetime.fromisoformat(data["until"]),
            float(data["days"]),
        )

    @property
    def ends_now(self) -> bool:
        """Whether the window reaches the present (a trend or listing needs no end bound)."""
        return self.until >= datetime.now(UTC) - timedelta(minutes=1)


def rolling(days: float, now: datetime, phrase: str | None = None) -> Period:
    """The ``days`` up to ``now``."""
    if phrase is None:
        phrase = f"the past {_amount(days)}"
    return Period(phrase, now - timedelta(days=days), now, days)


def _amount(days: float) -> str:
    if days < 1:
        hours = round(days * 24)
        return f"{hours} hours" if hours != 1 else "hour"
    if days == 7:
        return "7 days"
    return f"{days:g} days" if days != 1 else "day"


def _count(text: str) -> int:
    return int(text) if text.isdigit() else NUMBER_WORDS[text]


def _month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _named(name: str, now: datetime) -> Period:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if name in ("today", "tonight", "this morning"):
        return Period("today", midnight, now, max((now - midnight).total_seconds() / 86400, 1e-3))
    if name == "yesterday":
        return Period("yesterday", midnight - timedelta(days=1), midnight, 1.0)
    if name in ("this week", "the week", "past week"):
        return rolling(7.0, now, "the past 7 days")
    if name in ("last week", "previous week"):
        return Period("the 7 days before the past 7", now - timedelta(days=14),
                      now - timedelta(days=7), 7.0)  # fmt: skip
    if name == "this month":
        start = _month_start(now)
        return Period("this month", start, now, max((now - start).total_seconds() / 86400, 1e-3))
    if name == "past month":
        return rolling(30.0, now, "the past 30 days")
    if name == "this year":
        start = now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        return Period("this year", start, now, max((now - start).total_seconds() / 86400, 1e-3))
    end = _month_start(now)  # last month, previous month
    start = _month_start(end - timedelta(days=1))
    return Period("last month", start, end, (end - start).total_seconds() / 86400)


_SINCE_DATE = re.compile(r"\b(?:since|from|after)\s+(\d{4}-\d{2}-\d{2})\b")


def parse(text: str, now: datetime | None = None) -> Period | None:
    """The first period ``text`` names, or None."""
    now = now or datetime.now(UTC)
    low = text.lower()
    found: list[tuple[int, Period]] = []
    m = _SINCE_DATE.search(low)
    if m:
        try:
            start: datetime | None = datetime.fromisoformat(m.group(1)).replace(tzinfo=UTC)
        except ValueError:
            start = None
        if start is not None and start < now:
            days = (now - start).total_seconds() / 86400
            found.append((m.start(), Period(f"since {m.group(1)}", start, now, days)))
    for pattern in (_SPAN, _BARE_SPAN):
        m = pattern.search(low)
        if m:
            days = _count(m.group("n")) * UNIT_DAYS[m.group("unit")]
            found.append((m.start(), rolling(days, now)))
            break
    m = _ONE_UNIT.search(low)
    if m:
        unit = m.group("unit")
        days = 1.0 if unit == "24 hours" else UNIT_DAYS[unit]
        found.append((m.start(), rolling(days, now)))
    m = _NAMED.search(low)
    if m:
        found.append((m.start(), _named(m.group("name"), now)))
    if not found:
        return None
    return min(found, key=lambda item: item[0])[1]


def previous(period: Period) -> Period:
    """The window of the same length just before ``period``."""
    span = timedelta(days=period.days)
    return Period(f"the {_amount(period.days)} before", period.since - span, period.since,
                  period.days)  # fmt: skip
