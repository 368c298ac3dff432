"""Modal submissions: validate -> ack(errors) | store -> ack() -> background flow.

The request is stored before the ack (milliseconds), so a database failure shows up in
the modal with the AE's text still there, instead of being lost after the modal closed.
"""

from __future__ import annotations

from slack_bolt import App

from bot import clock, metrics
from bot.errors import InvalidInput
from bot.flows import covers as cover_flow
from bot.flows import lifecycle, offers
from bot.flows.people import cached_timezone
from bot.services import availability, briefs, claims, covers, directory, followups, next_meeting
from bot.services import requests as requests_service
from bot.services.claims import Outcome
from bot.services.skills import existing_skills
from bot.slack.blocks import brief as brief_ui
from bot.slack.blocks import notices, replies, request_modal
from bot.slack.ids import Field, View
from bot.slack.payloads import (
    Caller,
    FormState,
    parse_request_metadata,
    parse_request_modal_metadata,
)
from bot.slack.text import escape
from handlers.context import deps_of


def register(app: App) -> None:
    app.view(View.REQUEST.value)(submit_request)
    app.view(View.DECLINE.value)(submit_decline)
    app.view(View.SKILLS.value)(submit_skills)
    app.view(View.BRIEF.value)(submit_brief)
    app.view(View.OUTCOME.value)(submit_outcome)
    app.view(View.HOURS.value)(submit_hours)
    app.view(View.COVER.value)(submit_cover)


def _values(view: dict) -> dict:
    return (view.get("state") or {}).get("values") or {}


def submit_request(ack, body, view, context):
    """Validate with reads only, store in one short transaction, then ack; matching and the
    fan-out run after the ack. Storing before the ack is deliberate (RELIABILITY 42): a process
    that dies before it answered leaves nothing half-written and the AE's modal still open with
    their text, ready to resubmit — never "sent" on screen but lost."""
    d, caller = deps_of(context), Caller.of(body)
    now = clock.now()
    channel_id = parse_request_modal_metadata(view.get("private_metadata"))
    draft = request_modal.read(_values(view))
    brief_draft = brief_ui.read(_values(view))
    tz = cached_timezone(d, caller.team_id, caller.user_id)
    errors: dict[str, str] = {}
    clean_brief = None
    with d.db.read() as session:
        known = existing_skills(session, draft.skills)
    try:
        draft = requests_service.validate(draft, now=now, max_lead=d.settings.max_lead, known_skills=known)
    except InvalidInput as exc:
        errors.update(exc.fields)
    if not brief_draft.is_empty():
        try:
            clean_brief = briefs.validate(brief_draft, meeting_at=draft.meeting_at, tz=tz, now=now)
        except InvalidInput as exc:
            errors.update(exc.fields)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    with d.db.session() as session:
        created = requests_service.create(
            session, team_id=caller.team_id, requester_user_id=caller.user_id, channel_id=channel_id or caller.user_id,
            draft=draft, source_key=view.get("id"), policy=d.policy, now=now, brief=clean_brief,
        )
    ack()
    if created.created:
        metrics.requests_created.inc()
        d.work.submit(lifecycle.after_create, d, created.request.id)


def submit_brief(ack, body, view, context):
    d, caller = deps_of(context), Caller.of(body)
    now = clock.now()
    request_id = parse_request_metadata(view.get("private_metadata"))
    tz = cached_timezone(d, caller.team_id, caller.user_id)
    with d.db.session() as session:
        request = requests_service.get(session, request_id=request_id, team_id=caller.team_id)
        try:
            clean = briefs.validate(brief_ui.read(_values(view)), meeting_at=request.meeting_at, tz=tz, now=now)
        except InvalidInput as exc:
            ack(response_action="errors", errors=exc.fields)
            return
        saved = briefs.save(session, request=request, clean=clean, editor_user_id=caller.user_id, policy=d.policy,
                            now=now)
    ack()
    d.work.submit(lifecycle.after_brief, d, request_id, released=saved.released, first=saved.first)


def submit_decline(ack, body, view, context):
    """The optional reason of a decline recorded at the click (handlers/actions.decline)."""
    ack()
    d, caller = deps_of(context), Caller.of(body)
    request_id = parse_request_metadata(view.get("private_metadata"))
    reason = FormState(_values(view)).text(Field.REASON)
    with d.db.session() as session:
        result = claims.add_decline_reason(session, request_id=request_id, team_id=caller.team_id,
                                           expert_user_id=caller.user_id, reason=reason, policy=d.policy, now=clock.now())
    if result.changed:  # no decline was recorded at the click (a form an earlier version opened)
        metrics.declines.inc()
        d.work.submit(offers.after_decline, d, request_id, result.expert.id)
    elif result.outcome != Outcome.ALREADY_DECLINED:
        d.notifier.post(caller.user_id, *replies.text_reply(f"Request #{request_id} is {result.request.status}; "
                                                             "your decline was not needed."))


def submit_cover(ack, body, view, context):
    """The claimer's ask for cover: stored before the ack (a refusal shows in the modal)."""
    d, caller = deps_of(context), Caller.of(body)
    request_id = parse_request_metadata(view.get("private_metadata"))
    note = FormState(_values(view)).text(Field.COVER_NOTE)
    with d.db.session() as session:
        covers.ask(session, request_id=request_id, team_id=caller.team_id, expert_user_id=caller.user_id, note=note,
                   now=clock.now())
    ack()
    d.work.submit(cover_flow.after_asked, d, request_id)


def submit_skills(ack, body, view, context):
    d, caller = deps_of(context), Caller.of(body)
    form = FormState(_values(view))
    try:
        entry = directory.read_own_entry(skills_text=form.text(Field.EXPERT_SKILLS),
                                         capacity_text=form.text(Field.CAPACITY),
                                         days_text=form.text(Field.WORK_DAYS) or availability.days_label(d.policy.hours.days),
                                         hours_text=form.text(Field.WORK_HOURS) or availability.hours_text(d.policy.hours))
    except InvalidInput as exc:
        ack(response_action="errors", errors=exc.fields)
        return
    with d.db.session() as session:
        directory.set_own_skills(session, team_id=caller.team_id, user_id=caller.user_id, skills=entry.skills,
                                 max_concurrent=entry.capacity, hours=entry.hours, now=clock.now())
    ack()
    d.notifier.post(caller.user_id, *replies.text_reply(
        f"Saved. Your skills: {escape(entry.skills_text)}; up to {entry.capacity} requests at once; "
        f"working {entry.hours.label()} your time."))


def submit_outcome(ack, body, view, context):
    d, caller = deps_of(context), Caller.of(body)
    request_id = parse_request_metadata(view.get("private_metadata"))
    decided, next_step, new_date, next_at = notices.read_outcome(_values(view))
    tz = cached_timezone(d, caller.team_id, caller.user_id)
    now = clock.now()
    try:
        with d.db.session() as session:  # the outcome and the next meeting's request: both or neither
            followups.record_outcome(session, request_id=request_id, team_id=caller.team_id, user_id=caller.user_id,
                                     decided=decided, next_step=next_step, new_date=new_date, tz=tz, now=now)
            booked = None if next_at is None else next_meeting.book_next(
                session, request_id=request_id, team_id=caller.team_id, user_id=caller.user_id,
                meeting_at=next_at, max_lead=d.settings.max_lead, policy=d.policy, now=now)
    except InvalidInput as exc:
        ack(response_action="errors", errors=exc.fields)
        return
    ack()
    text = f"Thanks: the outcome of request #{request_id} is recorded."
    if booked is not None:
        if booked.created:
            d.work.submit(lifecycle.after_create, d, booked.request.id)
        text += " " + replies.booked_text(booked.request, tz)
    d.notifier.post(caller.user_id, *replies.text_reply(text))


def submit_hours(ack, body, view, context):
    d, caller = deps_of(context), Caller.of(body)
    request_id = parse_request_metadata(view.get("private_metadata"))
    prep, meeting = notices.read_hours(_values(view))
    tz = cached_timezone(d, caller.team_id, caller.user_id)
    with d.db.session() as session:
        try:
            followups.record_hours(session, request_id=request_id, team_id=caller.team_id, user_id=caller.user_id,
                                   prep=prep, meeting=meeting, tz=tz, now=clock.now())
        except InvalidInput as exc:
            ack(response_action="errors", errors=exc.fields)
            return
    ack()
    d.notifier.post(caller.user_id, *replies.text_reply(f"Thanks: your hours for request #{request_id} are logged."))
