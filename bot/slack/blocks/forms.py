"""Small modals: decline with a reason, an expert's own skills and capacity."""

from __future__ import annotations

from slack_sdk.models.blocks import ContextBlock, InputBlock, NumberInputElement, PlainTextInputElement, SectionBlock
from slack_sdk.models.views import View

from bot.services.availability import days_label, hours_text
from bot.services.directory import OwnEntry
from bot.services.people import MAX_CAPACITY
from bot.slack.blocks.common import md, plain
from bot.slack.ids import Field, View as ViewId


def decline_modal(request_id: int, *, private_metadata: str) -> View:
    return View(
        type="modal",
        callback_id=ViewId.DECLINE,
        title=plain("Declined"),
        submit=plain("Send reason"),
        close=plain("Skip"),
        private_metadata=private_metadata,
        blocks=[
            SectionBlock(text=md(f"You declined request #{request_id}; the AE's request goes on to the others.")),
            InputBlock(
                block_id=Field.REASON,
                label=plain("Want to say why? (optional)"),
                optional=True,
                element=PlainTextInputElement(action_id="value", multiline=True, max_length=500,
                                              placeholder=plain("Busy with another customer, not my area, ...")),
            )
        ],
    )


def cover_modal(request_id: int, *, private_metadata: str) -> View:
    return View(
        type="modal",
        callback_id=ViewId.COVER,
        title=plain("Ask for cover"),
        submit=plain("Ask the others"),
        close=plain("Back"),
        private_metadata=private_metadata,
        blocks=[
            SectionBlock(text=md(f"The other matching experts are asked to take over request #{request_id}. "
                                 "You stay on it until one of them does; the AE is told either way.")),
            InputBlock(
                block_id=Field.COVER_NOTE,
                label=plain("A note for them (optional)"),
                optional=True,
                element=PlainTextInputElement(action_id="value", multiline=True, max_length=500,
                                              placeholder=plain("Double-booked Thursday; prep notes are in the brief")),
            ),
        ],
    )


def own_entry_modal(entry: OwnEntry) -> View:
    """The expert's own entry: skills, capacity, working days and hours."""
    return skills_modal(skills_text=entry.skills_text, capacity=entry.capacity,
                        days=days_label(entry.hours.days), hours=hours_text(entry.hours))


def skills_modal(*, skills_text: str, capacity: int, days: str, hours: str) -> View:
    return View(
        type="modal",
        callback_id=ViewId.SKILLS,
        title=plain("Your expertise"),
        submit=plain("Save"),
        close=plain("Cancel"),
        blocks=[
            InputBlock(
                block_id=Field.EXPERT_SKILLS,
                label=plain("Skills, each with an optional level"),
                hint=plain("Comma-separated. Levels: learning, proficient (default), expert."),
                element=PlainTextInputElement(action_id="value", multiline=True, max_length=2000,
                                              initial_value=skills_text or None,
                                              placeholder=plain("kubernetes:expert, security, fintech:learning")),
            ),
            InputBlock(
                block_id=Field.CAPACITY,
                label=plain("Requests you can carry at once"),
                element=NumberInputElement(action_id="value", is_decimal_allowed=False, min_value=1,
                                           max_value=MAX_CAPACITY, initial_value=str(capacity)),
            ),
            InputBlock(
                block_id=Field.WORK_DAYS,
                label=plain("Working days"),
                hint=plain("Normal requests reach you on these days; urgent ones whenever you are not out of office."),
                element=PlainTextInputElement(action_id="value", max_length=60, initial_value=days,
                                              placeholder=plain("Mon-Fri")),
            ),
            InputBlock(
                block_id=Field.WORK_HOURS,
                label=plain("Working hours (your Slack timezone)"),
                hint=plain("Your response times count only these hours."),
                element=PlainTextInputElement(action_id="value", max_length=20, initial_value=hours,
                                              placeholder=plain("09:00-18:00")),
            ),
            ContextBlock(elements=[md("Use `/presales away until Dec 3` when you are out. A Slack status such as "
                                      ":palm_tree: Vacationing, and Do Not Disturb, are respected too.")]),
        ],
    )
