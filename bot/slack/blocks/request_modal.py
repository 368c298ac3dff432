"""The `/presales` modal: what the AE needs, pre-filled from the command text."""

from __future__ import annotations

from datetime import datetime, timezone

from slack_sdk.models.blocks import (
    ContextBlock,
    DividerBlock,
    SectionBlock,
    DateTimePickerElement,
    ExternalDataMultiSelectElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
    UrlInputElement,
)
from slack_sdk.models.views import View

from bot.services.requests import DESCRIPTION_MAX, DURATIONS, DEFAULT_DURATION, Draft, Prefill
from bot.slack.blocks import brief as brief_ui
from bot.slack.blocks.common import md, plain
from bot.slack.ids import Action, Block, View as ViewId
from models import KIND_LABELS, RequestKind, Urgency


def skill_option(name: str) -> Option:
    return Option(text=plain(name[:75], emoji=False), value=name[:150])


def _duration_label(minutes: int) -> str:
    return f"{minutes} min" if minutes < 60 else (f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes / 60:g} h")


def build(prefill: Prefill, *, private_metadata: str, tz_label: str | None) -> View:
    kinds = [Option(text=plain(label), value=kind.value) for kind, label in KIND_LABELS.items()]
    kind_initial = next((o for o in kinds if o.value == prefill.kind), None)
    durations = [Option(text=plain(_duration_label(m)), value=str(m)) for m in DURATIONS]
    urgencies = [Option(text=plain("Normal"), value=Urgency.NORMAL.value),
                 Option(text=plain("🚨 Urgent"), value=Urgency.URGENT.value)]
    when_ts = int(prefill.when.timestamp()) if prefill.when else None
    meeting_kind = prefill.kind is None or RequestKind(prefill.kind).has_meeting
    blocks = [
        InputBlock(
            block_id=Block.KIND,
            label=plain("What do you need?"),
            element=StaticSelectElement(action_id="value", options=kinds, initial_option=kind_initial,
                                        placeholder=plain("Demo, discovery, POC, RFP, question")),
        ),
        InputBlock(
            block_id=Block.SKILLS,
            label=plain("Skills needed"),
            hint=plain("Type to search the expert directory. Every expert with one of these skills is asked."),
            element=ExternalDataMultiSelectElement(
                action_id=Action.SKILL_SELECT,
                min_query_length=0,
                max_selected_items=10,
                placeholder=plain("kubernetes, security, ..."),
                initial_options=[skill_option(s) for s in prefill.skills] or None,
            ),
        ),
        InputBlock(
            block_id=Block.ACCOUNT,
            label=plain("Account / opportunity"),
            element=PlainTextInputElement(action_id="value", max_length=200, initial_value=prefill.account or None,
                                          placeholder=plain("Acme Corp — platform renewal")),
        ),
        InputBlock(
            block_id=Block.MEETING_AT,
            label=plain("Meeting start"),
            optional=True,
            hint=plain("For demos, discovery and POC help. Shown in your timezone."),
            element=DateTimePickerElement(action_id="value", initial_date_time=when_ts if meeting_kind else None),
        ),
        InputBlock(
            block_id=Block.DURATION,
            label=plain("Duration"),
            optional=True,
            element=StaticSelectElement(action_id="value", options=durations,
                                        initial_option=next(o for o in durations if o.value == str(DEFAULT_DURATION))),
        ),
        InputBlock(
            block_id=Block.NEEDED_BY,
            label=plain("Needed by"),
            optional=True,
            hint=plain("For RFPs, questionnaires and questions without a meeting."),
            element=DateTimePickerElement(action_id="value", initial_date_time=None if meeting_kind else when_ts),
        ),
        InputBlock(
            block_id=Block.URGENCY,
            label=plain("Urgency"),
            element=StaticSelectElement(
                action_id="value", options=urgencies,
                initial_option=urgencies[1] if prefill.urgency == Urgency.URGENT.value else urgencies[0],
            ),
        ),
        InputBlock(
            block_id=Block.DESCRIPTION,
            label=plain("What is needed"),
            element=PlainTextInputElement(action_id="value", multiline=True, max_length=DESCRIPTION_MAX,
                                          initial_value=prefill.leftover[:DESCRIPTION_MAX] or None,
                                          placeholder=plain("Who is the customer, what must the expert show or answer?")),
        ),
        InputBlock(
            block_id=Block.CRM_URL,
            label=plain("CRM link"),
            optional=True,
            element=UrlInputElement(action_id="value", placeholder=plain("https://...")),
        ),
    ]
    if tz_label:
        blocks.append(ContextBlock(elements=[md(f"Your Slack timezone: {tz_label}. Experts see times in theirs.")]))
    blocks.append(DividerBlock())
    blocks.append(SectionBlock(text=md(
        "*Prep brief* — required before demos, deep-dives and POCs reach the experts. "
        "Fill it in now, or later with the *Add brief* button.")))
    blocks += brief_ui.inputs(None, optional=True)
    return View(
        type="modal",
        callback_id=ViewId.REQUEST,
        title=plain("Ask for an expert"),
        submit=plain("Send request"),
        close=plain("Cancel"),
        private_metadata=private_metadata,
        blocks=blocks,
    )


def _value(values: dict, block: str, action: str = "value") -> dict:
    node = values.get(block, {})
    if not isinstance(node, dict):
        return {}
    item = node.get(action, {})
    return item if isinstance(item, dict) else {}


def _text(values: dict, block: str) -> str:
    value = _value(values, block).get("value")
    return value if isinstance(value, str) else ""


def _selected(values: dict, block: str) -> str | None:
    option = _value(values, block).get("selected_option")
    if isinstance(option, dict) and isinstance(option.get("value"), str):
        return option["value"]
    return None


def _timestamp(values: dict, block: str) -> datetime | None:
    raw = _value(values, block).get("selected_date_time")
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(int(raw), tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def read(values: dict) -> Draft:
    """state.values of a submitted request modal -> Draft (no validation here)."""
    values = values if isinstance(values, dict) else {}
    options = _value(values, Block.SKILLS, Action.SKILL_SELECT).get("selected_options") or []
    skills = [o["value"] for o in options if isinstance(o, dict) and isinstance(o.get("value"), str)]
    duration = _selected(values, Block.DURATION)
    return Draft(
        kind=_selected(values, Block.KIND),
        skills=skills,
        account=_text(values, Block.ACCOUNT),
        meeting_at=_timestamp(values, Block.MEETING_AT),
        duration_min=int(duration) if duration and duration.isdigit() else None,
        needed_by=_timestamp(values, Block.NEEDED_BY),
        urgency=_selected(values, Block.URGENCY) or Urgency.NORMAL.value,
        description=_text(values, Block.DESCRIPTION),
        crm_url=_text(values, Block.CRM_URL) or None,
    )
