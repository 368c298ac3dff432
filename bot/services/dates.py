"""Human dates ("Tue 3pm", "Dec 3", "tomorrow 10:30") in a person's timezone -> aware UTC.

python-dateutil does the parsing; this module adds the conventions people expect:
a weekday or a date without a year means the next one, "tomorrow" and "today" work,
and a time alone means the next time the clock shows it.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dateutil import parser as du_parser

from bot import clock
from bot.errors import InvalidInput, quote

_FILLER = re.compile(r"\b(on|at|by|the|this|next|until|till|til)\b", re.IGNORECASE)
_RELATIVE = re.compile(r"\b(today|tonight|tomorrow|tmrw|tmr)\b", re.IGNORECASE)
_WEEKDAY = re.compile(r"\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\b", re.IGNORECASE)


@dataclass(frozen=True)
class Parsed:
    at: datetime  # aware UTC
    has_time: bool


def parse_when(text: str, *, tz: str | None, now: datetime, default_time: time = time(9, 0)) -> Parsed:
    """Parse ``text`` as a moment in ``tz``; raise InvalidInput with an example on failure.

    The result is never in the past: a weekday, a date without a year or a bare time
    roll forward to their next occurrence.
    """
    raw = (text or "").strip()
    if not raw:
        raise InvalidInput("Give a date, e.g. `Dec 3` or `Tue 3pm`.")
    if len(raw) > 80:
        raise InvalidInput("That date is too long to be a date; try `Dec 3` or `Tue 3pm`.")
    zone = clock.zone(tz)
    local_now = now.astimezone(zone)
    cleaned = raw
    base_day = local_now.date()
    relative = _RELATIVE.search(cleaned)
    if relative:
        word = relative.group(1).lower()
        base_day = base_day + timedelta(days=0 if word in ("today", "tonight") else 1)
        cleaned = _RELATIVE.sub(" ", cleaned)
    cleaned = _FILLER.sub(" ", cleaned)
    cleaned = re.sub(r"\s+", " ", cleaned).strip(" ,")
    has_weekday = bool(_WEEKDAY.search(cleaned))
    # Parse twice with defaults that differ in year, month and day: what the text
    # fixed comes out equal, what it left open does not.
    other_day = _shift_year(base_day, 4) + timedelta(days=40)
    try:
        with warnings.catch_warnings():  # "3pm EST": dateutil warns (and will raise) on zone names
            warnings.simplefilter("error", du_parser.UnknownTimezoneWarning)
            if cleaned:
                first = du_parser.parse(cleaned, default=datetime.combine(base_day, time(0)))
                second = du_parser.parse(cleaned, default=datetime.combine(other_day, time(0)))
            else:
                first = datetime.combine(base_day, time(0))
                second = datetime.combine(other_day, time(0))
    except du_parser.UnknownTimezoneWarning:
        raise InvalidInput("Leave the timezone out: times are read in your own Slack timezone.") from None
    except (ValueError, OverflowError, TypeError):
        raise InvalidInput(f"I could not read '{quote(raw)}' as a date. Try `Dec 3`, `Tue 3pm` or `2026-12-03 15:00`.") from None
    if first.tzinfo is not None:
        raise InvalidInput("Leave the timezone out: times are read in your own Slack timezone.")
    has_time = bool(re.search(r"\d\s*[:h.]\s*\d|\d\s*(am|pm)\b|noon|midnight", cleaned, re.I)) or first.time() != time(0)
    year_given = first.year == second.year and not has_weekday
    date_given = (first.month, first.day) == (second.month, second.day) and not has_weekday
    moment = first.replace(microsecond=0) if has_time else datetime.combine(first.date(), default_time)
    local = moment.replace(tzinfo=zone)
    try:
        if local < local_now and not year_given:  # roll forward what the person left open
            if has_weekday:
                local = _add_days(local, 7)
            elif date_given:
                local = _add_years(local, 1)
            elif relative is None:
                local = _add_days(local, 1)
        return Parsed(at=local.astimezone(clock.UTC), has_time=has_time)
    except (OverflowError, ValueError):  # the first or last hours of the calendar (year 1 / 9999)
        raise InvalidInput(f"'{quote(raw)}' is too far from today to be a meeting date.") from None


def _shift_year(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 Feb
        return day.replace(year=day.year + years, day=28)


def _add_days(local: datetime, days: int) -> datetime:
    # Wall-clock arithmetic in the zone (DST-safe: 15:00 stays 15:00).
    return datetime.combine(local.date() + timedelta(days=days), local.time(), local.tzinfo)


def _add_years(local: datetime, years: int) -> datetime:
    return datetime.combine(_shift_year(local.date(), years), local.time(), local.tzinfo)


def end_of_day(day_moment: datetime, tz: str | None) -> datetime:
    """The start of the next local day after ``day_moment`` (for "away until Dec 3": back on Dec 4)."""
    local = day_moment.astimezone(clock.zone(tz))
    nxt = datetime.combine(local.date() + timedelta(days=1), time(0), clock.zone(tz))
    return nxt.astimezone(clock.UTC)
