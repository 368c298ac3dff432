"""Names of the fields people fill in (request, brief, decline, skills, follow-up).

The services key their inline errors by these names and the modals use them as block ids,
so an error lands next to its field without the services knowing about Slack."""

from __future__ import annotations

from enum import StrEnum


class Field(StrEnum):
    KIND = "kind"
    SKILLS = "skills"
    ACCOUNT = "account"
    MEETING_AT = "meeting_at"
    DURATION = "duration"
    NEEDED_BY = "needed_by"
    URGENCY = "urgency"
    DESCRIPTION = "description"
    CRM_URL = "crm_url"
    REASON = "reason"
    EXPERT_SKILLS = "expert_skills"
    CAPACITY = "capacity"
    BRIEF_PROBLEM = "brief_problem"
    BRIEF_SHOW = "brief_show"
    BRIEF_ATTENDEES = "brief_attendees"
    BRIEF_DECISION = "brief_decision"
    BRIEF_DECISION_BY = "brief_decision_by"
    BRIEF_CTA = "brief_cta"
    BRIEF_COMPETITORS = "brief_competitors"
    BRIEF_LINKS = "brief_links"
    OUTCOME_DECIDED = "outcome_decided"
    OUTCOME_NEXT = "outcome_next"
    OUTCOME_NEW_DATE = "outcome_new_date"
    HOURS_PREP = "hours_prep"
    HOURS_MEETING = "hours_meeting"
    ASK_FIRST = "ask_first"
    OUTCOME_NEXT_MEETING = "outcome_next_meeting"
    WORK_DAYS = "work_days"
    WORK_HOURS = "work_hours"
    COVER_NOTE = "cover_note"


def whole_number(text: object, low: int, high: int) -> int | None:
    """``text`` as an int in [low, high], or None: only ASCII digits count (``'²'.isdigit()``
    is true but ``int('²')`` raises; no sign, no spaces) and the length is checked before
    ``int()`` is asked."""
    raw = text if isinstance(text, str) else ""
    if not raw or len(raw) > len(str(high)) or not (raw.isascii() and raw.isdigit()):
        return None
    number = int(raw)
    return number if low <= number <= high else None


def storable(text: str) -> str:
    """Text as a database can keep it: PostgreSQL refuses NUL (U+0000) in any text column, so a
    pasted NUL would fail the write; nobody means one. Every other character is kept."""
    return text.replace("\x00", "") if "\x00" in text else text
