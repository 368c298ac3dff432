"""The prep brief: its inputs (in the request modal and its own modal), the read-only view,
and the short summary shown in DMs and reminders."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.services.briefs import MAX_ANSWER, BriefDraft
from bot.slack.blocks.common import md, plain
from bot.slack.ids import Action, Field, View as ViewId
from bot.slack.payloads import FormState, request_value
from bot.slack.text import escape, escape_clip, format_when
from models import AttendeeRole, Brief, Request

SUMMARY_CHARS = 280
VIEW_CHUNK = 2900


def _text_input(block: Field, label: str, hint: str, initial: str | None, *, optional: bool, multiline: bool = True,
                placeholder: str | None = None) -> InputBlock:
    return InputBlock(
        block_id=block,
        label=plain(label),
        hint=plain(hint),
        optional=optional,
        element=PlainTextInputElement(action_id="value", multiline=multiline, max_length=MAX_ANSWER,
                                      initial_value=initial or None,
                                      placeholder=plain(placeholder) if placeholder else None),
    )


def attendees_text(brief: Brief | None) -> str:
    """What the AE typed (shown back in the edit form as it was)."""
    if brief is None:
        return ""
    return brief.attendees_text or "\n".join(f"{a.name} - {AttendeeRole(a.role).label}" for a in brief.attendees)


def inputs(brief: Brief | None, *, optional: bool) -> list[Block]:
    """The brief's input blocks; ``optional`` in the request modal (a brief can come later)."""
    return [
        _text_input(Field.BRIEF_PROBLEM, "The customer's problem, and what they hope to gain",
                    "In your words. At least 20 characters.", brief.problem if brief else None, optional=optional),
        _text_input(Field.BRIEF_SHOW, "What we should show or cover", "Use cases, must-see items.",
                    brief.show if brief else None, optional=optional),
        _text_input(Field.BRIEF_ATTENDEES, "Who attends from the customer",
                    "One per line with the role: decision maker, influencer, technical evaluator or user.",
                    attendees_text(brief), optional=optional, placeholder="Jane Doe, CTO - decision maker"),
        _text_input(Field.BRIEF_DECISION, "The decision they will make after the meeting",
                    "E.g. 'pick a vendor for the platform renewal'.", brief.decision if brief else None,
                    optional=optional, multiline=False),
        InputBlock(block_id=Field.BRIEF_DECISION_BY, label=plain("…and by when"), optional=optional,
                   element=DatePickerElement(action_id="value",
                                             initial_date=brief.decision_by.isoformat() if brief else None)),
        _text_input(Field.BRIEF_CTA, "The call to action we want at the end", "Optional.",
                    brief.call_to_action if brief else None, optional=True, multiline=False),
        _text_input(Field.BRIEF_COMPETITORS, "Competitors in play", "Optional.",
                    brief.competitors if brief else None, optional=True, multiline=False),
        _text_input(Field.BRIEF_LINKS, "Links (CRM, notes)", "Optional.", brief.links if brief else None,
                    optional=True),
    ]


def read(values: dict) -> BriefDraft:
    form = FormState(values)
    return BriefDraft(problem=form.text(Field.BRIEF_PROBLEM), show=form.text(Field.BRIEF_SHOW),
                      attendees=form.text(Field.BRIEF_ATTENDEES), decision=form.text(Field.BRIEF_DECISION),
                      decision_by=form.date(Field.BRIEF_DECISION_BY), call_to_action=form.text(Field.BRIEF_CTA),
                      competitors=form.text(Field.BRIEF_COMPETITORS), links=form.text(Field.BRIEF_LINKS))


def modal(request: Request, brief: Brief | None, *, private_metadata: str) -> View:
    return View(
        type="modal",
        callback_id=ViewId.BRIEF,
        title=plain("Prep brief" if brief is None else "Edit prep brief"),
        submit=plain("Save brief"),
        close=plain("Cancel"),
        private_metadata=private_metadata,
        blocks=[
            SectionBlock(text=md(f"*Request #{request.id}* · {escape_clip(request.account, 200)}\n"
                                 "No demo without a brief: experts prepare with it.")),
            *inputs(brief, optional=False),
        ],
    )


def _chunks(text: str) -> list[str]:
    """Escaped text cut into section-sized pieces (a 2,900-character answer may grow when escaped)."""
    escaped = escape(text)
    pieces, rest = [], escaped
    while rest:
        if len(rest) <= VIEW_CHUNK:
            pieces.append(rest)
            break
        cut = rest.rfind(" ", 0, VIEW_CHUNK)
        cut = cut if cut > VIEW_CHUNK // 2 else VIEW_CHUNK
        amp = rest.rfind("&", max(0, cut - 5), cut)
        if amp != -1 and ";" not in rest[amp:cut]:
            cut = amp  # never split an entity
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return pieces


def _answer_blocks(title: str, text: str | None) -> list[Block]:
    if not text:
        return []
    chunks = _chunks(text)
    blocks: list[Block] = [SectionBlock(text=md(f"*{title}*\n{chunks[0]}"))]
    blocks += [SectionBlock(text=md(chunk)) for chunk in chunks[1:]]
    return blocks


def view(request: Request, brief: Brief, tz: str | None) -> View:
    """The whole brief, read-only (the View brief button)."""
    attendees = "\n".join(f"• {a.name} — {AttendeeRole(a.role).label}" for a in brief.attendees)
    blocks: list[Block] = [
        HeaderBlock(text=plain(f"Brief · request #{request.id}")),
        SectionBlock(text=md(f"*Account* {escape_clip(request.account, 200)} · "
                             f"*Meeting* {format_when(request.when, tz)}")),
        *_answer_blocks("Problem and hoped-for gain", brief.problem),
        *_answer_blocks("Show or cover", brief.show),
        *_answer_blocks("Who attends", attendees),
        SectionBlock(text=md(f"*Decision after the meeting*\n{escape_clip(brief.decision, 2800)}\n"
                             f"*By* {brief.decision_by:%a %d %b %Y}")),
        *_answer_blocks("Call to action", brief.call_to_action),
        *_answer_blocks("Competitors", brief.competitors),
        *_answer_blocks("Links", brief.links),
        DividerBlock(),
        ContextBlock(elements=[md(f"Last edited {format_when(brief.updated_at, tz)} by <@{brief.updated_by.slack_user_id}>")]),
    ]
    return View(type="modal", callback_id=ViewId.BRIEF_VIEW, title=plain("Prep brief"), close=plain("Close"),
                blocks=blocks[:100])


def summary(brief: Brief) -> str:
    """A few lines for DMs and reminders; the View brief button shows the rest."""
    decision_makers = [a.name for a in brief.attendees if a.role == AttendeeRole.DECISION_MAKER.value]
    who = ", ".join(escape_clip(n, 60) for n in decision_makers[:3]) or f"{len(brief.attendees)} attendee(s)"
    return (
        f"*Brief* · {escape_clip(brief.problem, SUMMARY_CHARS)}\n"
        f"*Show* · {escape_clip(brief.show, SUMMARY_CHARS)}\n"
        f"*Decision* · {escape_clip(brief.decision, 200)} — by {brief.decision_by:%a %d %b} · *Decides*: {who}"
    )


def view_button(request: Request) -> ButtonElement:
    return ButtonElement(text=plain("View brief"), action_id=Action.VIEW_BRIEF, value=request_value(request.id))


def add_button(request: Request, *, edit: bool = False) -> ButtonElement:
    return ButtonElement(text=plain("Edit brief" if edit else "Add brief"), action_id=Action.ADD_BRIEF,
                         value=request_value(request.id), style=None if edit else "primary")


def summary_blocks(request: Request, brief: Brief | None) -> list[Block]:
    if brief is None:
        return []
    return [SectionBlock(text=md(summary(brief))), ActionsBlock(elements=[view_button(request)])]
