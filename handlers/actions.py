"""Buttons: Claim, Decline, Release (expert DMs, experts channel) and Cancel (status message)."""

from __future__ import annotations

from slack_bolt import App

from bot import clock
from bot.services import claims
from bot.services import requests as requests_service
from bot.services.claims import Outcome
from bot.slack.blocks import forms, replies
from bot.slack.ids import Action
from bot.slack.payloads import decline_metadata, parse_request_value
from bot.slack.text import mention
from bot.slack.payloads import Caller
from handlers.context import answer, deps_of


def register(app: App) -> None:
    app.action(Action.CLAIM.value)(claim)
    app.action(Action.DECLINE.value)(decline)
    app.action(Action.RELEASE.value)(release)
    app.action(Action.CANCEL.value)(cancel)
    app.action(Action.LINK.value)(lambda ack: ack())


def _request_id(body: dict) -> int:
    actions = body.get("actions") or [{}]
    return parse_request_value(actions[0].get("value"))


def claim_message(result: claims.Result) -> str | None:
    r = result.request
    claimer = mention(r.claimed_by.slack_user_id) if r.claimed_by else "someone"
    return {
        Outcome.WON: None,  # the DM itself turns into "You claimed this"
        Outcome.ALREADY_YOURS: f"You already claimed request #{r.id}.",
        Outcome.TAKEN: f"Request #{r.id} was already claimed by {claimer}. Thanks for jumping in!",
        Outcome.CLOSED: f"Request #{r.id} is {r.status}; there is nothing to claim.",
    }.get(result.outcome)


def claim(ack, body, respond, context):
    ack()
    d, caller = deps_of(context), Caller.of(body)
    request_id = _request_id(body)
    with d.db.session() as session:
        result = claims.claim(session, request_id=request_id, team_id=caller.team_id, expert_user_id=caller.user_id,
                              now=clock.now())
    if result.outcome == Outcome.WON:
        d.work.submit(d.flows.after_claim, request_id)
    else:
        d.work.submit(d.flows.refresh_for, request_id, result.expert.id)  # the clicked DM shows the truth
        answer(d, respond, caller, replies.text_reply(claim_message(result)))


def decline(ack, body, respond, context):
    ack()
    d, caller = deps_of(context), Caller.of(body)
    request_id = _request_id(body)
    with d.db.session() as session:
        request = requests_service.get(session, request_id=request_id, team_id=caller.team_id)
    if not request.is_open:
        answer(d, respond, caller, replies.text_reply(f"Request #{request.id} is already {request.status}."))
        return
    opened = d.notifier.open_view(body.get("trigger_id", ""),
                                  forms.decline_modal(request.id, private_metadata=decline_metadata(request.id)))
    if not opened.ok:
        answer(d, respond, caller, replies.text_reply(f"Slack did not open the form ({opened.error}). Try again."))


def release(ack, body, respond, context):
    ack()
    d, caller = deps_of(context), Caller.of(body)
    request_id = _request_id(body)
    with d.db.session() as session:
        result = claims.release(session, request_id=request_id, team_id=caller.team_id, expert_user_id=caller.user_id,
                                now=clock.now())
    if result.outcome == Outcome.RELEASED:
        d.work.submit(d.flows.after_release, request_id, caller.user_id, result.expert.id)
        text = f"You released request #{request_id}. The other experts are being asked again."
    else:
        text = f"Request #{request_id} is {result.request.status}; nothing to release."
    answer(d, respond, caller, replies.text_reply(text))


def cancel(ack, body, respond, context):
    ack()
    d, caller = deps_of(context), Caller.of(body)
    request_id = _request_id(body)
    with d.db.session() as session:
        request = requests_service.cancel(session, request_id=request_id, team_id=caller.team_id,
                                          actor_user_id=caller.user_id, admins=d.settings.admins, now=clock.now())
    d.work.submit(d.flows.refresh_all, request.id)
    answer(d, respond, caller, replies.text_reply(f"Request #{request.id} is cancelled; the experts are being told."))
