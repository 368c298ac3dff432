"""Buttons: Claim, Decline, Release (expert DMs, experts channel), Cancel and Add brief
(status message), View brief, Snooze (reminders), follow-up buttons."""

from __future__ import annotations

from slack_bolt import App

from bot import clock, metrics
from bot.flows import covers as cover_flow
from bot.flows import digests, lifecycle, offers
from bot.flows.people import cached_timezone
from bot.services import briefs, claims, covers, digest, directory, due, followups, people
from bot.services.covers import Taken
from bot.services import requests as requests_service
from bot.services.claims import Outcome
from bot.services.prefill import Prefill
from bot.slack.blocks import brief as brief_ui
from bot.slack.blocks import forms, notices, replies, request_modal
from bot.slack.ids import Action, Field
from bot.slack.payloads import (
    Caller,
    action_ts,
    parse_request_value,
    request_metadata,
    request_modal_metadata,
)
from bot.slack.text import format_when, mention
from handlers.context import after_ack, answer


def register(app: App) -> None:
    app.action(Action.CLAIM.value)(claim)
    app.action(Action.DECLINE.value)(decline)
    app.action(Action.RELEASE.value)(release)
    app.action(Action.CANCEL.value)(cancel)
    app.action(Action.ADD_BRIEF.value)(add_brief)
    app.action(Action.VIEW_BRIEF.value)(view_brief)
    app.action(Action.SNOOZE_30.value)(snooze)
    app.action(Action.SNOOZE_60.value)(snooze)
    app.action(Action.FOLLOWUP_OUTCOME.value)(followup)
    app.action(Action.FOLLOWUP_HOURS.value)(followup)
    app.action(Action.OPEN_REQUEST.value)(new_request)
    app.action(Action.EDIT_SKILLS.value)(edit_skills)
    app.action(Action.SEND_DIGEST.value)(send_digest)
    app.action(Action.SEND_URGENT.value)(send_urgent)
    app.action(Action.ASK_COVER.value)(ask_cover)
    app.action(Action.TAKE_OVER.value)(take_over)
    app.action(Action.WIDEN_NOW.value)(widen_now)
    app.action({"block_id": Field.KIND.value, "action_id": "value"})(kind_changed)
    app.action(Action.LINK.value)(lambda ack: ack())


def _value(body: dict) -> str | None:
    actions = body.get("actions") or [{}]
    return actions[0].get("value")


def _clicked(body: dict):
    """(now, when the person clicked by Slack's clock: the click's action_ts)."""
    now = clock.now()
    return now, clock.slack_time(action_ts(body), now=now)


def _action_id(body: dict) -> str:
    actions = body.get("actions") or [{}]
    return str(actions[0].get("action_id", ""))


def decline_message(result: claims.Result) -> str:
    r = result.request
    if result.outcome == Outcome.ALREADY_YOURS:
        return f"You claimed request #{r.id}; use Release to give it back."
    if result.outcome == Outcome.TAKEN:
        return f"Request #{r.id} was already claimed; no need to decline."
    return f"Request #{r.id} is already {r.status}."


def claim_message(result: claims.Result) -> str | None:
    r = result.request
    claimer = mention(r.claimed_by.slack_user_id) if r.claimed_by else "someone"
    return {
        Outcome.WON: None,  # the DM itself turns into "You claimed this"
        Outcome.ALREADY_YOURS: f"You already claimed request #{r.id}.",
        Outcome.TAKEN: f"Request #{r.id} was already claimed by {claimer}. Thanks for jumping in!",
        Outcome.CLOSED: f"Request #{r.id} is {r.status}; there is nothing to claim.",
    }.get(result.outcome)


@after_ack
def claim(d, body, respond):
    caller = Caller.of(body)
    request_id = parse_request_value(_value(body))
    now, at = _clicked(body)
    with d.db.session() as session:
        result = claims.claim(session, request_id=request_id, team_id=caller.team_id, expert_user_id=caller.user_id,
                              policy=d.policy, now=now, at=at)
    if result.outcome == Outcome.WON:
        metrics.claims.inc()
        d.work.submit(offers.after_claim, d, request_id)
    else:
        d.work.submit(offers.refresh_for, d, request_id, result.expert.id)  # the clicked DM shows the truth
        answer(d, respond, caller, replies.text_reply(claim_message(result)))


@after_ack(opens_modal=True)
def decline(d, body, respond):
    """A Decline is the expert's response at the click (Slack's action_ts); the modal that
    follows only asks, optionally, why. Closing it leaves the decline as it is."""
    caller = Caller.of(body)
    request_id = parse_request_value(_value(body))
    now, at = _clicked(body)
    with d.db.session() as session:
        result = claims.decline(session, request_id=request_id, team_id=caller.team_id, expert_user_id=caller.user_id,
                                reason=None, policy=d.policy, now=now, at=at)
    if result.outcome not in (Outcome.DECLINED, Outcome.ALREADY_DECLINED):
        d.work.submit(offers.refresh_for, d, request_id, result.expert.id)  # the clicked DM shows the truth
        answer(d, respond, caller, replies.text_reply(decline_message(result)))
        return
    if result.changed:
        metrics.declines.inc()
        d.work.submit(offers.after_decline, d, request_id, result.expert.id)  # their DM first
    _open(d, respond, caller, body, forms.decline_modal(request_id, private_metadata=request_metadata(request_id)))


@after_ack
def release(d, body, respond):
    caller = Caller.of(body)
    request_id = parse_request_value(_value(body))
    with d.db.session() as session:
        result = claims.release(session, request_id=request_id, team_id=caller.team_id, expert_user_id=caller.user_id,
                                policy=d.policy, now=clock.now())
    if result.outcome == Outcome.RELEASED:
        d.work.submit(offers.after_release, d, request_id, caller.user_id, result.expert.id)
        text = f"You released request #{request_id}. The other experts are being asked again."
    else:
        text = f"Request #{request_id} is {result.request.status}; nothing to release."
    answer(d, respond, caller, replies.text_reply(text))


@after_ack
def cancel(d, body, respond):
    caller = Caller.of(body)
    request_id = parse_request_value(_value(body))
    with d.db.session() as session:
        request = requests_service.cancel(session, request_id=request_id, team_id=caller.team_id,
                                          actor_user_id=caller.user_id, policy=d.policy, now=clock.now())
    d.work.submit(lifecycle.after_cancel, d, request.id)
    answer(d, respond, caller, replies.text_reply(f"Request #{request.id} is cancelled; the experts are being told."))


@after_ack
def send_urgent(d, body, respond):
    """Nobody who matches is working now: ask every expert who is not out of office, at once."""
    caller = Caller.of(body)
    request_id = parse_request_value(_value(body))
    with d.db.session() as session:
        request = requests_service.make_urgent(session, request_id=request_id, team_id=caller.team_id,
                                               actor_user_id=caller.user_id, policy=d.policy, now=clock.now())
    d.work.submit(offers.broadcast, d, request.id)
    answer(d, respond, caller, replies.text_reply(f"Request #{request.id} is urgent now: every matching expert who "
                                                  "is not out of office is being asked."))


@after_ack
def widen_now(d, body, respond):
    """From the escalation: ask every available expert with a related skill now."""
    caller = Caller.of(body)
    request_id = parse_request_value(_value(body))
    with d.db.session() as session:
        request = requests_service.check_owner_or_manager(session, request_id=request_id, team_id=caller.team_id,
                                                          actor_user_id=caller.user_id, policy=d.policy,
                                                          now=clock.now(), what="widen")
    if not request.is_open:
        answer(d, respond, caller, replies.text_reply(f"Request #{request.id} is {request.status}; nothing to widen."))
        return
    d.work.submit(offers.broadcast, d, request.id, widen=True)
    answer(d, respond, caller, replies.text_reply(f"Asking every available expert with a related skill for "
                                                  f"request #{request.id} now."))


@after_ack(opens_modal=True)
def ask_cover(d, body, respond):
    """The claimer asks the others to take over: a note first (optional)."""
    caller = Caller.of(body)
    request_id = parse_request_value(_value(body))
    _open(d, respond, caller, body, forms.cover_modal(request_id, private_metadata=request_metadata(request_id)))


@after_ack
def take_over(d, body, respond):
    caller = Caller.of(body)
    request_id = parse_request_value(_value(body))
    now, at = _clicked(body)
    with d.db.session() as session:
        result = covers.take(session, request_id=request_id, team_id=caller.team_id, expert_user_id=caller.user_id,
                             policy=d.policy, now=now, at=at)
    if result.outcome == Taken.TAKEN_OVER:
        metrics.claims.inc()
        d.work.submit(cover_flow.after_taken, d, request_id, result.cover.id)
        return
    d.work.submit(offers.refresh_for, d, request_id, result.expert.id)
    taker = result.cover.taken_by if result.cover is not None else None
    text = (f"{mention(taker.slack_user_id)} took request #{request_id} over first. Thanks for jumping in!"
            if result.outcome == Taken.ALREADY and taker else f"Request #{request_id} needs no cover any more.")
    answer(d, respond, caller, replies.text_reply(text))


@after_ack(opens_modal=True)
def add_brief(d, body, respond):
    caller = Caller.of(body)
    request_id = parse_request_value(_value(body))
    with d.db.session() as session:
        request = requests_service.get(session, request_id=request_id, team_id=caller.team_id)
        briefs.check_editable(session, request=request, user_id=caller.user_id, policy=d.policy, now=clock.now())
        brief = briefs.get(session, request_id=request.id)
    _open(d, respond, caller, body, brief_ui.modal(request, brief, private_metadata=request_metadata(request.id)))


@after_ack(opens_modal=True)
def view_brief(d, body, respond):
    caller = Caller.of(body)
    request_id = parse_request_value(_value(body))
    with d.db.session() as session:
        request = requests_service.get(session, request_id=request_id, team_id=caller.team_id)
        briefs.check_viewable(session, request=request, user_id=caller.user_id, policy=d.policy)
        brief = briefs.get(session, request_id=request.id)
    if brief is None:
        answer(d, respond, caller, replies.text_reply(f"Request #{request.id} has no brief yet."))
        return
    tz = cached_timezone(d, caller.team_id, caller.user_id)
    _open(d, respond, caller, body, brief_ui.view(request, brief, tz))


@after_ack
def snooze(d, body, respond):
    caller = Caller.of(body)
    minutes = 30 if _action_id(body) == Action.SNOOZE_30 else 60
    notice_id = parse_request_value(_value(body))  # the same strict positive-id rule
    tz = cached_timezone(d, caller.team_id, caller.user_id)
    with d.db.session() as session:
        again = due.snooze(session, notice_id=notice_id, team_id=caller.team_id, user_id=caller.user_id,
                           minutes=minutes, tz=tz, now=clock.now())
    answer(d, respond, caller, replies.text_reply(f"Snoozed: I will remind you again at {format_when(again.due_at, tz)}."))


@after_ack(opens_modal=True)
def followup(d, body, respond):
    caller = Caller.of(body)
    request_id = parse_request_value(_value(body))
    outcome = _action_id(body) == Action.FOLLOWUP_OUTCOME
    with d.db.read() as session:
        request = followups.check_can_answer(session, request_id=request_id, team_id=caller.team_id,
                                             user_id=caller.user_id, role="ae" if outcome else "expert")
    metadata = request_metadata(request.id)
    view = notices.outcome_modal(request, private_metadata=metadata) if outcome else \
        notices.hours_modal(request, private_metadata=metadata)
    _open(d, respond, caller, body, view)


@after_ack(opens_modal=True)
def new_request(d, body, respond):
    """Home's New request: the same form as `/presales`; updates come to the AE's DM."""
    caller = Caller.of(body)
    tz = cached_timezone(d, caller.team_id, caller.user_id)
    _open(d, respond, caller, body, request_modal.build(Prefill(), private_metadata=request_modal_metadata(None),
                                                        tz_label=tz, brief_kinds=d.policy.brief_required_for))


@after_ack(opens_modal=True)
def kind_changed(d, body, respond):
    """The request form's type changed: show what that type needs (a meeting or a needed-by time;
    the brief only for types that need one). Slack keeps what was typed in the fields that stay."""
    caller = Caller.of(body)
    view = body.get("view") or {}
    kind = request_modal.selected_kind(body)
    if not view.get("id") or kind is None:
        return
    tz = cached_timezone(d, caller.team_id, caller.user_id)
    new = request_modal.build(Prefill(kind=kind), private_metadata=view.get("private_metadata") or "", tz_label=tz,
                              brief_kinds=d.policy.brief_required_for)
    d.notifier.update_view(view["id"], new, hash_=view.get("hash"))


@after_ack(opens_modal=True)
def edit_skills(d, body, respond):
    caller = Caller.of(body)
    with d.db.read() as session:
        entry = directory.own_entry(session, team_id=caller.team_id, user_id=caller.user_id,
                                    default_hours=d.policy.hours)
    _open(d, respond, caller, body, forms.own_entry_modal(entry))


@after_ack
def send_digest(d, body, respond):
    caller = Caller.of(body)
    with d.db.session() as session:
        people.require_manager(session, team_id=caller.team_id, user_id=caller.user_id, admins=d.settings.admins)
        person = people.ensure_person(session, team_id=caller.team_id, user_id=caller.user_id, now=clock.now())
    tz = cached_timezone(d, caller.team_id, caller.user_id)
    week = digest.parse_week("last", tz=tz, now=clock.now())
    d.work.submit(digests.send_digest, d, person, week)
    answer(d, respond, caller, replies.text_reply(f"The digest for {week.label} is on its way to your DM."))


def _open(d, respond, caller: Caller, body: dict, view) -> None:
    opened = d.notifier.open_view(body.get("trigger_id", ""), view)
    if not opened.ok:
        answer(d, respond, caller, replies.text_reply(f"Slack did not open the form ({opened.error}). Try again."))
