from datetime import datetime, timezone

import pytest

from bot import clock
from bot.slack.text import escape, escape_clip, format_duration, format_when, link, mention

# Pure functions: no database (the PostgreSQL pass skips this module).
pytestmark = pytest.mark.db_agnostic


def test_escape_only_the_three_characters_exactly_once():
    assert escape("<!channel> & <@U123> <https://evil|CRM>") == "&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;https://evil|CRM&gt;"
    assert escape("&amp;") == "&amp;amp;"  # what the user typed is what people see
    assert escape("*bold* _it_ 🎉 مرحبا") == "*bold* _it_ 🎉 مرحبا"


def test_escape_clip_never_cuts_an_entity():
    text = "<" * 100
    clipped = escape_clip(text, 50)
    assert len(clipped) <= 50
    assert clipped.endswith("…")
    assert clipped[:-1].count("&lt;") * 4 == len(clipped[:-1])


def test_mention_only_for_real_ids():
    assert mention("U012ABC") == "<@U012ABC>"
    assert mention("here>") == "someone"


def test_link_refuses_unsafe_urls():
    assert link("https://crm.example.com/opp/1", "CRM") == "<https://crm.example.com/opp/1|CRM>"
    assert link("javascript:alert(1)", "CRM") == "CRM"
    assert link("https://x|<!channel>", "CRM") == "CRM"


def test_format_when_uses_the_viewers_zone():
    moment = datetime(2026, 11, 24, 20, 0, tzinfo=timezone.utc)
    with clock.freeze(datetime(2026, 11, 23, tzinfo=timezone.utc)):
        assert format_when(moment, "America/New_York") == "Tue 24 Nov, 15:00 EST"
        assert format_when(moment, "Europe/Berlin") == "Tue 24 Nov, 21:00 CET"
        assert format_when(moment, "Not/AZone") == "Tue 24 Nov, 20:00 UTC"


def test_format_duration():
    assert [format_duration(s) for s in (None, 30, 120, 5400, 7200, 200000)] == ["—", "30s", "2m", "1h 30m", "2h", "2d 7h"]
