"""Every action_id / callback_id / block_id the app uses, in one place."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    CLAIM = "offer_claim"
    DECLINE = "offer_decline"
    RELEASE = "offer_release"
    CANCEL = "request_cancel"
    OPEN_REQUEST = "home_new_request"
    EDIT_SKILLS = "home_edit_skills"
    SKILL_SELECT = "skills_select"
    LINK = "noop_link"
    ADD_BRIEF = "brief_add"
    VIEW_BRIEF = "brief_view"
    SNOOZE_30 = "reminder_snooze_30"
    SNOOZE_60 = "reminder_snooze_60"
    FOLLOWUP_OUTCOME = "followup_outcome"
    FOLLOWUP_HOURS = "followup_hours"
    SEND_DIGEST = "home_send_digest"


class View(StrEnum):
    REQUEST = "request_modal"
    DECLINE = "decline_modal"
    SKILLS = "skills_modal"
    BRIEF = "brief_modal"
    BRIEF_VIEW = "brief_view_modal"
    OUTCOME = "followup_outcome_modal"
    HOURS = "followup_hours_modal"


class Block(StrEnum):
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
    OFFER_ACTIONS = "offer_actions"
    STATUS_ACTIONS = "status_actions"
