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


class View(StrEnum):
    REQUEST = "request_modal"
    DECLINE = "decline_modal"
    SKILLS = "skills_modal"


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
    OFFER_ACTIONS = "offer_actions"
    STATUS_ACTIONS = "status_actions"
