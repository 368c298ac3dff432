"""Working time, checked against an independent minute-by-minute count (weekends, DST changes,
odd working days), and the parsers of what people type."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import InvalidInput
from bot.services.availability import (
    WEEKDAYS,
    Hours,
    add_working,
    days_label,
    is_working,
    next_start,
    parse_days,
    parse_hours,
    working_ms,
)

pytestmark = pytest.mark.db_agnostic
UTC = timezone.utc
NINE_TO_SIX = Hours(days=WEEKDAYS, start=9 * 60, end=18 * 60)


def minutes_inside(start: datetime, end: datetime, tz: str, hours: Hours) -> int:
    """The independent calculation: step through every minute and ask the local clock."""
    zone, count, t = ZoneInfo(tz), 0, start
    while t < end:
        local = t.astimezone(zone)
        if local.isoweekday() in hours.days and hours.start <= local.hour * 60 + local.minute < hours.end:
            count += 1
        t += timedelta(minutes=1)
    return count


def test_a_weekend_does_not_count():
    friday_5pm = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # 17:00 in Berlin
    monday_10am = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    assert working_ms(friday_5pm, monday_10am, tz="Europe/Berlin", hours=NINE_TO_SIX) == 2 * 3600 * 1000


@pytest.mark.parametrize("start, end, tz", [
    (datetime(2026, 3, 27, 12, 0, tzinfo=UTC), datetime(2026, 3, 31, 12, 0, tzinfo=UTC), "Europe/Berlin"),  # spring
    (datetime(2026, 10, 23, 20, 0, tzinfo=UTC), datetime(2026, 10, 27, 7, 0, tzinfo=UTC), "Europe/Berlin"),  # fall
    (datetime(2026, 3, 6, 0, 0, tzinfo=UTC), datetime(2026, 3, 10, 23, 0, tzinfo=UTC), "America/Los_Angeles"),
    (datetime(2026, 11, 27, 23, 0, tzinfo=UTC), datetime(2026, 12, 1, 3, 0, tzinfo=UTC), "Asia/Tokyo"),
])
def test_working_time_across_weekends_and_dst_equals_a_minute_count(start, end, tz):
    assert working_ms(start, end, tz=tz, hours=NINE_TO_SIX) == minutes_inside(start, end, tz, NINE_TO_SIX) * 60_000


@settings(max_examples=60, deadline=None)
@given(start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20)),
       minutes=st.integers(min_value=0, max_value=6 * 24 * 60),
       tz=st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC"]),
       days=st.frozensets(st.integers(min_value=1, max_value=7), min_size=1),
       span=st.tuples(st.integers(min_value=0, max_value=23 * 60), st.integers(min_value=1, max_value=24 * 60)))
def test_working_time_equals_a_minute_count(start, minutes, tz, days, span):
    start = start.replace(second=0, microsecond=0, tzinfo=UTC)
    first, length = span
    hours = Hours(days=days, start=first, end=min(24 * 60, first + length))
    end = start + timedelta(minutes=minutes)
    assert working_ms(start, end, tz=tz, hours=hours) == minutes_inside(start, end, tz, hours) * 60_000


def test_next_start_and_adding_working_time():
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert next_start(saturday, tz="Asia/Tokyo", hours=NINE_TO_SIX) == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    tuesday_noon = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo: working
    assert is_working(tuesday_noon, tz="Asia/Tokyo", hours=NINE_TO_SIX)
    assert next_start(tuesday_noon, tz="Asia/Tokyo", hours=NINE_TO_SIX) == tuesday_noon
    friday_5pm = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # 17:00 Berlin: one working hour left
    later = add_working(friday_5pm, timedelta(minutes=90), tz="Europe/Berlin", hours=NINE_TO_SIX)
    assert later == datetime(2026, 11, 30, 8, 30, tzinfo=UTC)  # Monday 09:30 Berlin
    assert working_ms(friday_5pm, later, tz="Europe/Berlin", hours=NINE_TO_SIX) == 90 * 60_000


def test_what_people_type_for_days_and_hours():
    assert parse_days("Mon-Fri") == WEEKDAYS
    assert parse_days("sun–thu") == frozenset({7, 1, 2, 3, 4})
    assert parse_days("mon, wed fri") == frozenset({1, 3, 5})
    assert days_label(frozenset({7, 1, 2, 3, 4})) == "Mon, Tue, Wed, Thu, Sun"
    assert days_label(WEEKDAYS) == "Mon–Fri"
    assert parse_hours("8-16:30") == (8 * 60, 16 * 60 + 30)
    for bad in ("", "9", "18-9", "9:75-10", "25-26"):
        with pytest.raises(InvalidInput):
            parse_hours(bad)
    for bad in ("", "funday", "mon-tue-wed"):
        with pytest.raises(InvalidInput):
            parse_days(bad)
