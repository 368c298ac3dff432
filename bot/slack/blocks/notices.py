"""Messages the scheduler sends: brief nudges, escalation steps, meeting reminders,
follow-ups — and the two follow-up modals."""

from __future__ import annotations

from datetime import date, datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DatePickerElement,
    DateTimePickerElement,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.slack.blocks import brief as brief_ui
from bot.slack.blocks.common import as_dicts, context, kind_label, md, plain
from bot.slack.ids import Action, Block as BlockId, Field, View as ViewId
from bot.slack.payloads import FormState, request_value
from bot.slack.text import channel_link, escape_clip, format_when, mention
from models import Brief, Request

Message = tuple[str, list[dict]]


def _title(request: Request) -> str:
    return f"{kind_label(request.kind)} for *{escape_clip(request.account, 120)}* (request #{request.id})"


def brief_nudge(request: Request, *, due: datetime | None, held: bool, tz: str | None, first: bool) -> Message:
    when = f" It is due *{format_when(due, tz)}*." if due else ""
    why = ("Experts are not asked until it is complete." if held
           else "Experts see that it is missing, and the one who claims gets it as soon as it exists.")
    opener = "Thanks for your request. One more step:" if first else "Reminder:"
    text = (f"📋 {opener} {_title(request)} needs a prep brief — what the customer wants to see, who attends, "
            f"and what they will decide after the meeting, by when.{when} {why}")
    blocks: list[Block] = [SectionBlock(text=md(text)), ActionsBlock(elements=[brief_ui.add_button(request)])]
    return text, as_dicts(blocks)


def brief_overdue(request: Request, *, due: datetime | None, tz: str | None) -> Message:
    text = (f"📋 The brief for {_title(request)} from {mention(request.requester.slack_user_id)} was due "
            f"{format_when(due, tz)} and is still missing. Meeting: {format_when(request.when, tz)}.")
    return text, as_dicts([SectionBlock(text=md(text))])


def reping(request: Request, *, tz: str | None) -> Message:
    """In the thread of a waiting expert's DM (broadcast to the DM): still nobody, with Claim."""
    text = f"⏰ Still nobody on {_title(request)} — {format_when(request.when, tz)}. Can you take it?"
    return text, as_dicts([
        SectionBlock(text=md(text)),
        ActionsBlock(block_id=BlockId.OFFER_ACTIONS, elements=[
            ButtonElement(text=plain("Claim"), action_id=Action.CLAIM, value=request_value(request.id), style="primary"),
        ]),
    ])


def widen(request: Request) -> str:
    return (f"⏰ Still unclaimed: {_title(request)}. Anyone with a related skill, please have a look "
            "(Claim on the request above).")


def escalate(request: Request, *, notified: int, declined: int, tz: str | None) -> Message:
    """To the managers and the AE: still unclaimed, and what they can do about it right here."""
    text = (f"🚨 {_title(request)} from {mention(request.requester.slack_user_id)} is still unclaimed after "
            f"re-pinging {notified} expert(s) ({declined} declined). Time: {format_when(request.when, tz)}. "
            f"Deal channel: {channel_link(request.channel_id)}. Can someone step in or find cover?")
    value = request_value(request.id)
    buttons = [] if request.urgency == "urgent" else [
        ButtonElement(text=plain("Send as urgent"), action_id=Action.SEND_URGENT, value=value, style="primary")]
    buttons += [
        ButtonElement(text=plain("Widen now"), action_id=Action.WIDEN_NOW, value=value),
        ButtonElement(text=plain("Cancel request"), action_id=Action.CANCEL, value=value, style="danger",
                      confirm=ConfirmObject(title=plain("Cancel this request?"),
                                            text=md("Every expert who was asked is told it is off."),
                                            confirm=plain("Cancel it"), deny=plain("Keep it"))),
    ]
    return text, as_dicts([SectionBlock(text=md(text)), ActionsBlock(block_id=BlockId.ESCALATION_ACTIONS,
                                                                    elements=buttons)])


def reopened(request: Request, released_by: str) -> str:
    return f"🔁 {_title(request)} is open again: {mention(released_by)} released it. Can you take it?"


def cancelled(request: Request) -> str:
    return f"🚫 {_title(request)} was cancelled: it is off your plate."


def unfilled(request: Request, *, tz: str | None) -> str:
    return (f"⌛ Nobody claimed {_title(request)} before {format_when(request.when, tz)}. It is closed as unfilled; "
            "managers see it in their digest.")


def reminder(request: Request, brief: Brief | None, *, notice_id: int, offset: str, for_expert: bool,
             tz: str | None) -> Message:
    other = (f"requested by {mention(request.requester.slack_user_id)}" if for_expert
             else f"with {mention(request.claimed_by.slack_user_id if request.claimed_by else None)}")
    head = f"⏰ {_title(request)} starts in {offset}: *{format_when(request.meeting_at, tz)}*, {other}."
    blocks: list[Block] = [SectionBlock(text=md(head))]
    if brief is not None:
        blocks.append(SectionBlock(text=md(brief_ui.summary(brief))))
    else:
        blocks.append(context("⚠️ No brief yet: nobody has said what the customer will decide."))
    buttons = [
        ButtonElement(text=plain("Snooze 30m"), action_id=Action.SNOOZE_30, value=str(notice_id)),
        ButtonElement(text=plain("Snooze 1h"), action_id=Action.SNOOZE_60, value=str(notice_id)),
    ]
    if brief is not None:
        buttons.append(brief_ui.view_button(request))
    blocks.append(ActionsBlock(elements=buttons))
    return head, as_dicts(blocks)


def followup_ae(request: Request, brief: Brief | None) -> Message:
    decision = (f" The customer was to decide: _{escape_clip(brief.decision, 300)}_ by {brief.decision_by:%a %d %b}."
                if brief else "")
    text = f"🗒 How did it go? {_title(request)}.{decision} Record the outcome: it feeds the managers' digest."
    blocks: list[Block] = [
        SectionBlock(text=md(text)),
        ActionsBlock(elements=[ButtonElement(text=plain("Record outcome"), action_id=Action.FOLLOWUP_OUTCOME,
                                             value=request_value(request.id), style="primary")]),
    ]
    return text, as_dicts(blocks)


def followup_expert(request: Request) -> Message:
    text = f"🗒 Thanks for supporting {_title(request)}. How many hours did it take, prep and meeting?"
    blocks: list[Block] = [
        SectionBlock(text=md(text)),
        ActionsBlock(elements=[ButtonElement(text=plain("Log hours"), action_id=Action.FOLLOWUP_HOURS,
                                             value=request_value(request.id), style="primary")]),
    ]
    return text, as_dicts(blocks)


DECIDED = {"yes": "Yes, they decided", "no": "No, they decided against", "not_yet": "Not yet"}


def outcome_modal(request: Request, *, private_metadata: str) -> View:
    options = [Option(text=plain(label), value=value) for value, label in DECIDED.items()]
    return View(
        type="modal", callback_id=ViewId.OUTCOME, title=plain("Meeting outcome"), submit=plain("Save"),
        close=plain("Cancel"), private_metadata=private_metadata,
        blocks=[
            SectionBlock(text=md(_title(request))),
            InputBlock(block_id=Field.OUTCOME_DECIDED, label=plain("Did the customer make the decision?"),
                       element=RadioButtonsElement(action_id="value", options=options)),
            InputBlock(block_id=Field.OUTCOME_NEXT, label=plain("Next step"), optional=True,
                       element=PlainTextInputElement(action_id="value", multiline=True, max_length=2000)),
            InputBlock(block_id=Field.OUTCOME_NEW_DATE, label=plain("New decision date"), optional=True,
                       element=DatePickerElement(action_id="value")),
            InputBlock(block_id=Field.OUTCOME_NEXT_MEETING, label=plain("Next meeting with them"), optional=True,
                       hint=plain(_next_hint(request)),
                       element=DateTimePickerElement(action_id="value")),
        ],
    )


def hours_modal(request: Request, *, private_metadata: str) -> View:
    def number(block: Field, label: str) -> InputBlock:
        return InputBlock(block_id=block, label=plain(label),
                          element=NumberInputElement(action_id="value", is_decimal_allowed=True, min_value="0",
                                                     max_value="200"))

    return View(
        type="modal", callback_id=ViewId.HOURS, title=plain("Hours spent"), submit=plain("Save"),
        close=plain("Cancel"), private_metadata=private_metadata,
        blocks=[SectionBlock(text=md(_title(request))), number(Field.HOURS_PREP, "Preparation (hours)"),
                number(Field.HOURS_MEETING, "Meeting (hours)")],
    )


def _next_hint(request: Request) -> str:
    who = f"{request.claimed_by.name or 'the same expert'}" if request.claimed_by else "the same expert"
    return (f"Book pre-sales for it now: a request is made for that time, with this brief to edit, "
            f"asking {who[:60]} first.")


def cover_asked(request: Request, cover) -> str:
    """In the thread of an expert's DM: the claimer asks for cover (the DM above has the button)."""
    note = f" “{escape_clip(cover.note, 300)}”" if cover.note else ""
    return (f"🆘 {mention(cover.asked_by.slack_user_id)} claimed request #{request.id} "
            f"({escape_clip(request.account, 100)}) and asks for cover.{note} Can you take it over? "
            "The button is in the message above.")


def read_outcome(values: dict) -> tuple[str | None, str, date | None, datetime | None]:
    form = FormState(values)
    return (form.selected(Field.OUTCOME_DECIDED), form.text(Field.OUTCOME_NEXT), form.date(Field.OUTCOME_NEW_DATE),
            form.moment(Field.OUTCOME_NEXT_MEETING))


def read_hours(values: dict) -> tuple[str, str]:
    form = FormState(values)
    return form.text(Field.HOURS_PREP), form.text(Field.HOURS_MEETING)
