"""Modal submissions: validate -> ack(errors) | store -> ack() -> background flow."""

from __future__ import annotations

from slack_bolt import App

from bot import clock
from bot.errors import InvalidInput
from bot.services import claims, directory
from bot.services import requests as requests_service
from bot.slack.blocks import forms, replies, request_modal
from bot.slack.ids import Block, View
from bot.slack.payloads import parse_decline_metadata, parse_request_modal_metadata
from bot.slack.text import escape
from bot.slack.payloads import Caller
from handlers.context import deps_of


def register(app: App) -> None:
    app.view(View.REQUEST.value)(submit_request)
    app.view(View.DECLINE.value)(submit_decline)
    app.view(View.SKILLS.value)(submit_skills)


def submit_request(ack, body, view, context):
    d, caller = deps_of(context), Caller.of(body)
    now = clock.now()
    channel_id = parse_request_modal_metadata(view.get("private_metadata"))
    draft = request_modal.read(view.get("state", {}).get("values", {}))
    with d.db.session() as session:
        known = directory.existing_skills(session, draft.skills)
        try:
            draft = requests_service.validate(draft, now=now, max_lead=d.settings.max_lead, known_skills=known)
        except InvalidInput as exc:
            ack(response_action="errors", errors=exc.fields)
            return
        created = requests_service.create(
            session, team_id=caller.team_id, requester_user_id=caller.user_id,
            channel_id=channel_id or caller.user_id, draft=draft, source_key=view.get("id"), now=now,
        )
    ack()
    if created.created:
        d.work.submit(d.flows.broadcast, created.request.id)


def submit_decline(ack, body, view, context):
    ack()
    d, caller = deps_of(context), Caller.of(body)
    request_id = parse_decline_metadata(view.get("private_metadata"))
    reason = forms.read_text(view.get("state", {}).get("values", {}), Block.REASON)
    with d.db.session() as session:
        result = claims.decline(session, request_id=request_id, team_id=caller.team_id, expert_user_id=caller.user_id,
                                reason=reason, now=clock.now())
    d.work.submit(d.flows.refresh_all, request_id)
    if not result.changed:
        d.notifier.post(caller.user_id, *replies.text_reply(f"Request #{request_id} is {result.request.status}; "
                                                             "your decline was not needed."))


def submit_skills(ack, body, view, context):
    d, caller = deps_of(context), Caller.of(body)
    values = view.get("state", {}).get("values", {})
    capacity_text = forms.read_text(values, Block.CAPACITY).strip()
    errors: dict[str, str] = {}
    try:
        skills = directory.parse_skill_list(forms.read_text(values, Block.EXPERT_SKILLS))
    except InvalidInput as exc:
        errors[Block.EXPERT_SKILLS.value] = str(exc)
    if not capacity_text.isdigit() or not 1 <= int(capacity_text) <= directory.MAX_CAPACITY:
        errors[Block.CAPACITY.value] = f"A whole number from 1 to {directory.MAX_CAPACITY}."
    if errors:
        ack(response_action="errors", errors=errors)
        return
    with d.db.session() as session:
        directory.set_expert(session, team_id=caller.team_id, user_id=caller.user_id, skills=skills,
                             max_concurrent=int(capacity_text), now=clock.now())
    ack()
    listed = directory.format_skill_list((n, l.value) for n, l in skills)
    d.notifier.post(caller.user_id, *replies.text_reply(f"Saved. Your skills: {escape(listed)}; "
                                                         f"up to {capacity_text} requests at once."))
