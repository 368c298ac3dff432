from datetime import datetime, timedelta, timezone

import pytest

from bot.errors import InvalidInput
from bot.services.requests import Draft, validate
from bot.services.prefill import parse_prefill

# Pure functions: no database (the PostgreSQL pass skips this module).
pytestmark = pytest.mark.db_agnostic

NOW = datetime(2026, 11, 23, 16, 0, tzinfo=timezone.utc)
LEAD = timedelta(days=365)
SKILLS = {"kubernetes", "security", "data platform"}


def good(**over):
    values = dict(kind="demo", skills=["kubernetes"], account="Acme", meeting_at=NOW + timedelta(days=2),
                  duration_min=60, description="Show the multi-cluster story", urgency="normal")
    values.update(over)
    return Draft(**values)


def errors_of(draft):
    with pytest.raises(InvalidInput) as err:
        validate(draft, now=NOW, max_lead=LEAD, known_skills=SKILLS)
    return err.value.fields


def test_a_good_draft_is_cleaned():
    cleaned = validate(good(account="  Acme  ", skills=["Kubernetes", "kubernetes"]), now=NOW, max_lead=LEAD,
                       known_skills=SKILLS)
    assert cleaned.account == "Acme" and cleaned.skills == ["kubernetes"] and cleaned.needed_by is None


def test_an_empty_modal_names_every_missing_field():
    fields = errors_of(Draft())
    assert set(fields) == {"kind", "skills", "account", "description"}


@pytest.mark.parametrize(
    "over, block, words",
    [
        ({"meeting_at": NOW - timedelta(days=1)}, "meeting_at", "past"),
        ({"meeting_at": NOW + timedelta(days=730)}, "meeting_at", "days away"),
        ({"meeting_at": None}, "meeting_at", "When"),
        ({"skills": ["x" * 500]}, "skills", "at most 40"),
        ({"skills": ["quantum knitting"]}, "skills", "No expert"),
        ({"account": " \n "}, "account", "Name the account"),
        ({"description": "   "}, "description", "Say what"),
        ({"description": "x" * 2901}, "description", "2900"),
        ({"crm_url": "javascript:alert(1)"}, "crm_url", "https://"),
        ({"duration_min": 7}, "duration", "duration"),
        ({"kind": "banana"}, "kind", "kind"),
        ({"kind": "rfp", "meeting_at": None, "needed_by": None}, "needed_by", "By when"),
    ],
)
def test_bad_input_gets_an_inline_error(over, block, words):
    fields = errors_of(good(**over))
    assert block in fields and words.lower() in fields[block].lower()


def test_types_without_meeting_use_needed_by():
    cleaned = validate(good(kind="rfp", meeting_at=None, needed_by=NOW + timedelta(days=3)), now=NOW, max_lead=LEAD,
                       known_skills=SKILLS)
    assert cleaned.meeting_at is None and cleaned.duration_min is None and cleaned.needed_by == NOW + timedelta(days=3)


def test_prefill_from_command_text():
    p = parse_prefill("demo kubernetes for Acme Tue 3pm", known_skills=sorted(SKILLS), tz="America/New_York", now=NOW)
    assert (p.kind, p.skills, p.account) == ("demo", ["kubernetes"], "Acme")
    assert p.when == datetime(2026, 11, 24, 20, 0, tzinfo=timezone.utc)


def test_prefill_multiword_skill_urgency_and_leftover():
    p = parse_prefill("urgent poc data platform for Big Bank Corp tomorrow 10:30 with security", known_skills=sorted(SKILLS),
                      tz="Europe/Berlin", now=NOW)
    assert p.kind == "poc" and p.urgency == "urgent"
    assert p.skills == ["data platform", "security"]
    assert p.account == "Big Bank Corp"
    assert p.when == datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc)


def test_prefill_never_raises_on_junk():
    p = parse_prefill("next blursday <!channel> '; DROP TABLE requests; --", known_skills=[], tz=None, now=NOW)
    assert p.when is None and p.kind is None
