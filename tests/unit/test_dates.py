from datetime import datetime, timezone

import pytest

from bot.errors import InvalidInput
from bot.services.dates import end_of_day, parse_when

# Pure functions: no database (the PostgreSQL pass skips this module).
pytestmark = pytest.mark.db_agnostic

NOW = datetime(2026, 11, 23, 16, 0, tzinfo=timezone.utc)  # Monday, 17:00 in Berlin, 11:00 in New York


def at(text, tz="Europe/Berlin"):
    return parse_when(text, tz=tz, now=NOW).at


def test_weekday_and_time_in_the_persons_zone():
    assert at("Tue 3pm") == datetime(2026, 11, 24, 14, 0, tzinfo=timezone.utc)
    assert at("Tue 3pm", "America/New_York") == datetime(2026, 11, 24, 20, 0, tzinfo=timezone.utc)


def test_open_ended_dates_roll_forward():
    assert at("Monday 9am") == datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)  # today 9:00 has passed
    assert at("Nov 1").year == 2027  # no year given: the next Nov 1
    assert at("3pm") == datetime(2026, 11, 24, 14, 0, tzinfo=timezone.utc)  # 15:00 today has passed


def test_explicit_past_dates_stay_in_the_past_for_the_caller_to_refuse():
    assert at("2025-01-01") < NOW


def test_relative_words():
    assert at("tomorrow 10:30") == datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["next blursday", "", "x" * 200])
def test_unreadable_dates_are_refused_with_an_example(text):
    with pytest.raises(InvalidInput) as err:
        at(text)
    assert "Dec 3" in str(err.value)


def test_dst_wall_clock_is_kept():
    # 2027-03-28 is the spring-forward day in Berlin: 15:00 local is 13:00 UTC (CEST)
    assert parse_when("2027-03-28 15:00", tz="Europe/Berlin", now=NOW).at == datetime(2027, 3, 28, 13, 0, tzinfo=timezone.utc)


def test_end_of_day_is_next_local_midnight():
    moment = at("Dec 3")
    assert end_of_day(moment, "Europe/Berlin") == datetime(2026, 12, 3, 23, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["Tue 3pm EST", "Dec 3 10:00 CET", "2026-12-03 15:00 UTC"])
def test_a_zone_in_the_text_is_refused_without_a_warning(text, recwarn):
    """Times are read in the person's own Slack timezone; dateutil warns on "EST" (and says it
    will raise): the person reads one clear sentence instead."""
    with pytest.raises(InvalidInput, match="Leave the timezone out"):
        parse_when(text, tz="Europe/Berlin", now=NOW)
    assert not [w for w in recwarn if "tzname" in str(w.message)]
