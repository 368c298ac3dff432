"""Every action_id / callback_id / block_id the app uses, in one place (form fields: Field)."""

from __future__ import annotations

from enum import StrEnum

from bot.services.fields import Field  # noqa: F401 - re-exported for the renderers


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
    SEND_URGENT = "request_send_urgent"
    ASK_COVER = "offer_ask_cover"
    TAKE_OVER = "offer_take_over"
    WIDEN_NOW = "request_widen_now"


class View(StrEnum):
    REQUEST = "request_modal"
    DECLINE = "decline_modal"
    SKILLS = "skills_modal"
    BRIEF = "brief_modal"
    BRIEF_VIEW = "brief_view_modal"
    OUTCOME = "followup_outcome_modal"
    HOURS = "followup_hours_modal"
    COVER = "cover_modal"


class Block(StrEnum):
    """Block ids of message parts (form fields are bot.services.fields.Field)."""

    OFFER_ACTIONS = "offer_actions"
    STATUS_ACTIONS = "status_actions"
    ESCALATION_ACTIONS = "escalation_actions"
