"""When an expert is there: their working days and hours in their own timezone, `/presales away`,
Slack's Do Not Disturb, a Slack status that reads as out of office, and the meetings they
already claimed. Pure functions of stored values and ``now``; the database columns are on
``people`` (kept fresh from Slack's events and users.info / dnd.info by bot/flows/people.py).

Working time is what response figures are measured in: the milliseconds of an interval that
fall inside the person's working hours, DST-correct because every window is built in local time
and converted to UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot import clock, config
from bot.errors import InvalidInput, quote
from models import Person

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAYS = frozenset({1, 2, 3, 4, 5})
MAX_SPAN_DAYS = 400  # working time is counted over at most this many days (a year and a bit)


@dataclass(frozen=True)
class Hours:
    """Working days (ISO weekdays, Monday = 1) and hours (minutes after local midnight)."""

    days: frozenset[int]
    start: int
    end: int

    def label(self) -> str:
        return f"{days_label(self.days)} {_hhmm(self.start)}–{_hhmm(self.end)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def hours_text(hours: Hours) -> str:
    """'09:00-18:00', as the skills form shows it back."""
    return f"{_hhmm(hours.start)}-{_hhmm(hours.end)}"


def days_label(days: frozenset[int]) -> str:
    """{1,2,3,4,5} -> 'Mon–Fri'; {1,3,5} -> 'Mon, Wed, Fri'."""
    ordered = sorted(days)
    if ordered and ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{DAY_NAMES[ordered[0] - 1]}–{DAY_NAMES[ordered[-1] - 1]}"
    return ", ".join(DAY_NAMES[d - 1] for d in ordered)


def hours_of(person: Person | None, default: Hours) -> Hours:
    """A person's working days and hours: their own, else the workspace default
    (PRESALES_WORKING_DAYS, PRESALES_WORKING_HOURS)."""
    start, end, days = default.start, default.end, default.days
    if person is not None:
        if person.work_start is not None and person.work_end is not None:
            start, end = person.work_start, person.work_end
        if person.work_days:
            days = frozenset(int(c) for c in person.work_days if c.isdigit() and 1 <= int(c) <= 7) or days
    return Hours(days=days, start=start, end=end)


def _windows(start: datetime, end: datetime, tz: str | None, hours: Hours):
    """The working windows (UTC) that can overlap [start, end)."""
    zone = clock.zone(tz)
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = min(end.astimezone(zone).date(), first + timedelta(days=MAX_SPAN_DAYS))
    day = first
    while day <= last:
        if day.isoweekday() in hours.days:
            yield _local(day, hours.start, zone), _local(day, hours.end, zone)
        day += timedelta(days=1)


def _local(day: date, minutes: int, zone) -> datetime:
    if minutes >= 24 * 60:
        return datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(clock.UTC)
    return datetime.combine(day, time(minutes // 60, minutes % 60), zone).astimezone(clock.UTC)


def working_ms(start: datetime, end: datetime, *, tz: str | None, hours: Hours) -> int:
    """Milliseconds of [start, end) inside ``hours`` in ``tz`` (0 when end <= start)."""
    if end <= start:
        return 0
    total = timedelta(0)
    for open_, close in _windows(start, end, tz, hours):
        lo, hi = max(open_, start), min(close, end)
        if hi > lo:
            total += hi - lo
    return int(total.total_seconds() * 1000)


def is_working(moment: datetime, *, tz: str | None, hours: Hours) -> bool:
    return any(open_ <= moment < close for open_, close in _windows(moment, moment, tz, hours))


def next_start(moment: datetime, *, tz: str | None, hours: Hours) -> datetime | None:
    """``moment`` if it is inside working hours, else the start of the next working window
    (None if the person has no working days at all)."""
    if not hours.days:
        return None
    for open_, close in _windows(moment, moment + timedelta(days=8), tz, hours):
        if close > moment:
            return max(open_, moment)
    return None


def add_working(moment: datetime, amount: timedelta, *, tz: str | None, hours: Hours) -> datetime:
    """The moment when ``amount`` of working time has passed after ``moment`` (wall clock if the
    person has no working days)."""
    left = amount
    if not hours.days or left <= timedelta(0):
        return moment + max(left, timedelta(0))
    for open_, close in _windows(moment, moment + timedelta(days=MAX_SPAN_DAYS), tz, hours):
        lo = max(open_, moment)
        if close <= lo:
            continue
        if close - lo >= left:
            return lo + left
        left -= close - lo
    return moment + amount


# ---------------------------------------------------------------- Slack's signals


def reads_as_ooo(text: str | None, emoji: str | None, *, emojis: frozenset[str], words: tuple[str, ...]) -> bool:
    """Does a Slack status say out of office? Its emoji is one of ``emojis`` (":palm_tree:"), or its
    text has one of ``words`` as whole words ("Vacationing", "OOO until Monday", "Out sick")."""
    name = (emoji or "").strip().strip(":").lower()
    if name and name in emojis:
        return True
    lowered = f" {re.sub(r'[^a-z0-9]+', ' ', (text or '').lower())} "
    return any(f" {re.sub(r'[^a-z0-9]+', ' ', w.lower()).strip()} " in lowered for w in words if w.strip())


@dataclass(frozen=True)
class Signals:
    """What Slack says about a person now: their status (and when it expires) and DND."""

    status_text: str | None
    status_emoji: str | None
    status_expiration: datetime | None
    dnd_until: datetime | None


def unavailable_reason(person: Person, *, now: datetime, hours: Hours, tz: str | None) -> str | None:
    """Why ``person`` should not get a normal request now (None: they are there)."""
    if person.is_away_at(now):
        return "away"
    if person.is_out_of_office_at(now):
        return "out of office"
    if not is_working(now, tz=tz, hours=hours):
        return "outside working hours"
    if person.in_dnd_at(now):
        return "do not disturb"
    return None


def reachable_from(person: Person, *, now: datetime, hours: Hours, tz: str | None) -> datetime | None:
    """When a normal request can first reach ``person``: now if they are there, else their next
    working start after any away or out-of-office period that has an end (None: no end known)."""
    start = now
    if person.is_away_at(now):
        start = max(start, person.away_until)
    if person.is_out_of_office_at(now):
        if person.ooo_until is None:
            return None
        start = max(start, person.ooo_until)
    first = next_start(start, tz=tz, hours=hours)
    if first is not None and first == now and person.in_dnd_at(now):
        first = next_start(person.dnd_until, tz=tz, hours=hours)
    return first


# ---------------------------------------------------------------- what the person said


_HOURS = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*[-–]\s*(\d{1,2})(?::(\d{2}))?\s*$")


def parse_hours(text: str) -> tuple[int, int]:
    """'09:00-17:30', '8-16' -> (start, end) in minutes; InvalidInput otherwise."""
    match = _HOURS.match(text or "")
    if not match:
        raise InvalidInput(f"'{quote(text, 20)}' is not working hours like 09:00-17:30.")
    h1, m1, h2, m2 = (int(x) if x else 0 for x in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if not (0 <= start < end <= 24 * 60 and m1 < 60 and m2 < 60):
        raise InvalidInput("Working hours start before they end, within one day (e.g. 09:00-17:30).")
    return start, end


def parse_days(text: str) -> frozenset[int]:
    """'Mon-Fri', 'mon,tue,thu', 'Sun–Thu' -> ISO weekdays; InvalidInput otherwise."""
    try:
        return config.parse_days(text)
    except ValueError as exc:
        raise InvalidInput(f"{str(exc)[0].upper()}{str(exc)[1:]}.") from None


def days_code(days: frozenset[int]) -> str:
    return "".join(str(d) for d in sorted(days))
