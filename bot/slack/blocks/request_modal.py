"""The `/presales` modal: what the AE needs, pre-filled from the command text."""

from __future__ import annotations

import copy
from functools import lru_cache

from slack_sdk.models.blocks import (
    ContextBlock,
    DateTimePickerElement,
    DividerBlock,
    ExternalDataMultiSelectElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UrlInputElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.services.requests import DESCRIPTION_MAX, DURATIONS, DEFAULT_DURATION, Draft
from bot.services.prefill import Prefill
from bot.slack.blocks import brief as brief_ui
from bot.slack.blocks.common import md, plain
from bot.slack.ids import Action, Field, View as ViewId
from bot.services.fields import whole_number
from bot.slack.payloads import FormState
from models import KIND_LABELS, RequestKind, Urgency


def skill_option(name: str) -> Option:
    return Option(text=plain(name[:75], emoji=False), value=name[:150])


def _duration_label(minutes: int) -> str:
    return f"{minutes} min" if minutes < 60 else (f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes / 60:g} h")


BRIEF_KINDS = frozenset({RequestKind.DEMO.value, RequestKind.DISCOVERY.value, RequestKind.POC.value})


def layout(kind: str | None, brief_kinds: frozenset[str]) -> tuple[bool, bool]:
    """(meeting fields or a needed-by time, the brief) for a request type; before a type is
    chosen: a meeting, and the brief when any meeting type needs one."""
    if kind is None:
        return True, bool(brief_kinds & BRIEF_KINDS)
    return RequestKind(kind).has_meeting, kind in brief_kinds


def build(prefill: Prefill, *, private_metadata: str, tz_label: str | None,
          brief_kinds: frozenset[str] = BRIEF_KINDS) -> dict:
    """The request modal, pre-filled, showing only what the type needs (the view is updated when
    the type changes: handlers/actions.kind_changed). Each layout's blank form is built once with
    slack_sdk's models (and validated by them); each call copies it and fills in the pre-fill.
    Building all ~100 model objects per /presales cost ~8 ms of CPU, on the path where every
    millisecond delays acks."""
    meeting, with_brief = layout(prefill.kind, brief_kinds)
    view = copy.deepcopy(_blank(meeting, with_brief))
    view["private_metadata"] = private_metadata
    by_id = {b.get("block_id"): b for b in view["blocks"]}

    def element(field: Field) -> dict:
        return by_id[field.value]["element"]

    if prefill.kind:
        element(Field.KIND)["initial_option"] = next(o for o in element(Field.KIND)["options"]
                                                     if o["value"] == prefill.kind)
    if prefill.skills:
        element(Field.SKILLS)["initial_options"] = [skill_option(s).to_dict() for s in prefill.skills]
    if prefill.account:
        element(Field.ACCOUNT)["initial_value"] = prefill.account
    if prefill.when:
        element(Field.MEETING_AT if meeting else Field.NEEDED_BY)["initial_date_time"] = int(prefill.when.timestamp())
    if prefill.urgency == Urgency.URGENT.value:
        element(Field.URGENCY)["initial_option"] = element(Field.URGENCY)["options"][1]
    if prefill.leftover:
        element(Field.DESCRIPTION)["initial_value"] = prefill.leftover[:DESCRIPTION_MAX]
    if tz_label:
        note = ContextBlock(elements=[md(f"Your Slack timezone: {tz_label}. Experts see times in theirs.")]).to_dict()
        view["blocks"].insert(view["blocks"].index(by_id[Field.ASK_FIRST.value]) + 1, note)
    return view


@lru_cache(maxsize=4)
def _blank(meeting: bool, with_brief: bool) -> dict:
    kind = None if meeting and with_brief else (RequestKind.DEMO.value if meeting else RequestKind.RFP.value)
    return build_view(Prefill(kind=kind), private_metadata="", tz_label=None,
                      brief_kinds=BRIEF_KINDS if with_brief else frozenset(), blank=True).to_dict()


def build_view(prefill: Prefill, *, private_metadata: str, tz_label: str | None,
               brief_kinds: frozenset[str] = BRIEF_KINDS, blank: bool = False) -> View:
    """The request modal from slack_sdk's models (build() is the fast path to the same dict).
    ``blank``: the layout of ``prefill.kind`` with no type chosen yet."""
    meeting, with_brief = layout(prefill.kind, brief_kinds)
    kinds = [Option(text=plain(label), value=kind.value) for kind, label in KIND_LABELS.items()]
    kind_initial = None if blank else next((o for o in kinds if o.value == prefill.kind), None)
    urgencies = [Option(text=plain("Normal"), value=Urgency.NORMAL.value),
                 Option(text=plain("🚨 Urgent"), value=Urgency.URGENT.value)]
    when_ts = int(prefill.when.timestamp()) if prefill.when else None
    blocks = [
        InputBlock(
            block_id=Field.KIND,
            label=plain("What do you need?"),
            dispatch_action=True,  # the form shows what the chosen type needs
            element=StaticSelectElement(action_id="value", options=kinds, initial_option=kind_initial,
                                        placeholder=plain("Demo, discovery, POC, RFP, question")),
        ),
        InputBlock(
            block_id=Field.SKILLS,
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
            block_id=Field.ACCOUNT,
            label=plain("Account / opportunity"),
            element=PlainTextInputElement(action_id="value", max_length=200, initial_value=prefill.account or None,
                                          placeholder=plain("Acme Corp — platform renewal")),
        ),
        *(_time_inputs(when_ts) if meeting else _deadline_inputs(when_ts)),
        InputBlock(
            block_id=Field.URGENCY,
            label=plain("Urgency"),
            element=StaticSelectElement(
                action_id="value", options=urgencies,
                initial_option=urgencies[1] if prefill.urgency == Urgency.URGENT.value else urgencies[0],
            ),
        ),
        InputBlock(
            block_id=Field.DESCRIPTION,
            label=plain("What is needed"),
            element=PlainTextInputElement(action_id="value", multiline=True, max_length=DESCRIPTION_MAX,
                                          initial_value=prefill.leftover[:DESCRIPTION_MAX] or None,
                                          placeholder=plain("Who is the customer, what must the expert show or answer?")),
        ),
        InputBlock(
            block_id=Field.CRM_URL,
            label=plain("CRM link"),
            optional=True,
            element=UrlInputElement(action_id="value", placeholder=plain("https://...")),
        ),
        InputBlock(
            block_id=Field.ASK_FIRST,
            label=plain("Ask one expert first"),
            optional=True,
            hint=plain("Say, who ran the last meeting with this customer: only they are asked for a while "
                       "(their working time), then everyone who matches."),
            element=UserSelectElement(action_id="value", placeholder=plain("Anyone who matches")),
        ),
    ]
    if tz_label:
        blocks.append(ContextBlock(elements=[md(f"Your Slack timezone: {tz_label}. Experts see times in theirs.")]))
    if with_brief:
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


def _time_inputs(when_ts: int | None) -> list[InputBlock]:
    durations = [Option(text=plain(_duration_label(m)), value=str(m)) for m in DURATIONS]
    return [
        InputBlock(
            block_id=Field.MEETING_AT,
            label=plain("Meeting start"),
            hint=plain("Shown in your timezone; experts see it in theirs."),
            element=DateTimePickerElement(action_id="value", initial_date_time=when_ts),
        ),
        InputBlock(
            block_id=Field.DURATION,
            label=plain("Duration"),
            optional=True,
            element=StaticSelectElement(action_id="value", options=durations,
                                        initial_option=next(o for o in durations if o.value == str(DEFAULT_DURATION))),
        ),
    ]


def _deadline_inputs(when_ts: int | None) -> list[InputBlock]:
    return [
        InputBlock(
            block_id=Field.NEEDED_BY,
            label=plain("Needed by"),
            hint=plain("When you need the answer. Shown in your timezone."),
            element=DateTimePickerElement(action_id="value", initial_date_time=when_ts),
        ),
    ]


def selected_kind(body: dict) -> str | None:
    """The type chosen in a block_actions payload of the form's type select (None if not one of ours)."""
    actions = body.get("actions") if isinstance(body, dict) else None
    first = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    option = first.get("selected_option") if isinstance(first.get("selected_option"), dict) else {}
    value = option.get("value")
    return value if value in {k.value for k in RequestKind} else None


def read(values: dict) -> Draft:
    """state.values of a submitted request modal -> Draft (no validation here)."""
    form = FormState(values)
    duration = form.selected(Field.DURATION)
    return Draft(
        kind=form.selected(Field.KIND),
        skills=form.selected_many(Field.SKILLS, Action.SKILL_SELECT),
        account=form.text(Field.ACCOUNT),
        meeting_at=form.moment(Field.MEETING_AT),
        # An option value that is no whole number stays visible to validation as 0 minutes
        # ("Pick a duration from the list."), never silently the default.
        duration_min=(whole_number(duration, 1, 24 * 60) or 0) if duration else None,
        needed_by=form.moment(Field.NEEDED_BY),
        urgency=form.selected(Field.URGENCY) or Urgency.NORMAL.value,
        description=form.text(Field.DESCRIPTION),
        crm_url=form.text(Field.CRM_URL) or None,
        ask_first_user_id=form.selected_user(Field.ASK_FIRST),
    )
